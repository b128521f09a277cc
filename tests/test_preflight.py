"""The preflight checklist and `monlab preflight`, in replay and live mode against loopback servers."""

from __future__ import annotations

import shutil
import time
from email.utils import formatdate

import pytest
from sqlalchemy import func, select

from monlab import pipeline, preflight
from monlab.cache import ALL_CACHE_TABLES, request_audit, run_log
from monlab.cli import main
from monlab.drills import FlakyServer, Reply
from monlab.policy import PreflightLimits
from monlab.report import build_report

PLANTED = "u1234567-PLANTEDFAKESECRET"
ACCOUNT_OK = b'{"stat": "ok", "account": {"email": "ops@example.org", "monitor_limit": 50}}'


def date_header(offset_s: float = 0.0) -> dict[str, str]:
    return {"Date": formatdate(time.time() + offset_s, usegmt=True)}


@pytest.fixture
def live_env(monkeypatch, tmp_path):
    """Point the CLI at temporary paths; the test sets the base URLs and credentials."""
    monkeypatch.setenv("MONLAB_DB_URL", f"sqlite:///{tmp_path / 'cache.sqlite'}")
    monkeypatch.setenv("MONLAB_LOGS_DIR", str(tmp_path / "logs"))
    for name in ("UPTIMEROBOT_API_KEY", "GITHUB_TOKEN", "OPENWEATHER_API_KEY", "MONLAB_MODE", "MONLAB_SOURCES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def results(checks, check_name):
    return [check.result for check in checks if check.check == check_name]


# -- the command -------------------------------------------------------------------------------


def test_cli_replay_passes(capsys, live_env):
    assert main(["preflight"]) == 0
    output = capsys.readouterr().out
    assert "replay: from cassette" in output
    assert "FAIL" not in output


def test_cli_missing_scenario_fails(capsys, live_env):
    assert main(["preflight", "--scenario", "no_such_scenario"]) == 1
    assert "no cassette" in capsys.readouterr().out


def test_cli_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["preflight", "--mode", "sideways"])
    assert caught.value.code == 2


def test_cli_unknown_source_exits_2(capsys, live_env):
    assert main(["preflight", "--sources", "nagios"]) == 2


def test_cli_live_passes_on_loopback(capsys, live_env):
    with FlakyServer([Reply(200, ACCOUNT_OK, headers=date_header())]) as server:
        live_env.setenv("UPTIMEROBOT_BASE_URL", server.url)
        live_env.setenv("UPTIMEROBOT_API_KEY", PLANTED)
        status = main(["preflight", "--mode", "live", "--sources", "uptimerobot"])
    output = capsys.readouterr()
    assert status == 0
    assert [(request.method, request.path) for request in server.received] == [("POST", "/v2/getAccountDetails")]
    assert PLANTED.encode() in server.received[0].body
    assert PLANTED not in output.out + output.err


def test_cli_live_rejected_key_fails(capsys, live_env):
    rejected = b'{"stat": "fail", "error": {"type": "invalid_parameter", "parameter_name": "api_key", "passed_value": "' + PLANTED.encode() + b'"}}'
    with FlakyServer([Reply(200, rejected, headers=date_header())]) as server:
        live_env.setenv("UPTIMEROBOT_BASE_URL", server.url)
        live_env.setenv("UPTIMEROBOT_API_KEY", PLANTED)
        status = main(["preflight", "--mode", "live", "--sources", "uptimerobot"])
    output = capsys.readouterr()
    assert status == 1
    assert "the key was rejected (invalid_parameter)" in output.out
    assert PLANTED not in output.out + output.err


def test_cli_live_missing_credential_fails(capsys, live_env):
    with FlakyServer([]) as server:
        live_env.setenv("UPTIMEROBOT_BASE_URL", server.url)
        status = main(["preflight", "--mode", "live", "--sources", "uptimerobot"])
    assert status == 1
    assert "UPTIMEROBOT_API_KEY is not set" in capsys.readouterr().out
    assert server.connections == 0


def test_cli_live_github_write_scope_fails(capsys, live_env):
    headers = {**date_header(), "X-OAuth-Scopes": "repo, read:org"}
    with FlakyServer([Reply(200, b'{"resources": {}}', headers=headers)]) as server:
        live_env.setenv("GITHUB_API_URL", server.url)
        live_env.setenv("GITHUB_TOKEN", PLANTED)
        status = main(["preflight", "--mode", "live", "--sources", "github"])
    output = capsys.readouterr().out
    assert status == 1
    assert server.received[0].path == "/rate_limit"
    assert server.received[0].headers["authorization"] == f"Bearer {PLANTED}"
    assert "write scopes: repo" in output
    assert PLANTED not in output


# -- scope and clock rules ---------------------------------------------------------------------


@pytest.mark.parametrize("header, expected", [
    ("repo", "fail"),
    ("public_repo", "fail"),
    ("admin:org", "fail"),
    ("write:packages", "fail"),
    ("delete_repo", "fail"),
    ("workflow", "fail"),
    ("read:org, read:packages", "pass"),
    ("", "pass"),
    (None, "warn"),
])
def test_github_scope_rule(header, expected):
    assert preflight.github_scope_check(header).result == expected


def test_fine_grained_token_scope_unknown():
    assert "unknown" in preflight.github_scope_check(None).reason


@pytest.mark.parametrize("offset_s, expected", [(0, "pass"), (-30, "pass"), (120, "warn"), (-120, "warn"), (600, "fail")])
def test_clock_skew_rule(offset_s, expected):
    now = 1_796_104_800.0
    header = formatdate(now + offset_s, usegmt=True)
    check = preflight.clock_skew_check("github", header, now, PreflightLimits(60, 300))
    assert check.result == expected


def test_missing_date_header_warns():
    assert preflight.clock_skew_check("github", None, 0.0, PreflightLimits()).result == "warn"


def test_live_clock_skew_fails(make_settings):
    with FlakyServer([Reply(200, ACCOUNT_OK, headers=date_header(-900))]) as server:
        settings = make_settings(mode="live", sources="uptimerobot", environ={"UPTIMEROBOT_BASE_URL": server.url, "UPTIMEROBOT_API_KEY": PLANTED})
        checks = preflight.run_checklist(settings)
    assert results(checks, "clock skew") == ["fail"]
    assert results(checks, "probe") == ["pass"]


def test_live_probe_recorded_in_audit(make_settings):
    audit = preflight.AuditTrail()
    with FlakyServer([Reply(200, ACCOUNT_OK, headers=date_header())]) as server:
        settings = make_settings(mode="live", sources="uptimerobot", environ={"UPTIMEROBOT_BASE_URL": server.url, "UPTIMEROBOT_API_KEY": PLANTED})
        preflight.run_checklist(settings, audit=audit)
    assert [(entry.path_template, entry.status) for entry in audit.entries] == [("/v2/getAccountDetails", 200)]


def test_invalid_policy_fails(make_settings, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(make_settings().data_dir, data_dir)
    policy_path = data_dir / "api_policy.yml"
    policy_path.write_text(policy_path.read_text().replace("attempts: 4", "attempts: none", 1))
    checks = preflight.run_checklist(make_settings(environ={"MONLAB_DATA_DIR": str(data_dir)}))
    assert results(checks, "policy valid") == ["fail"]
    assert "retry.attempts" in preflight.blocking_reasons(checks)


# -- no cache write until the checklist passes -------------------------------------------------


def blocked_run(make_settings):
    settings = make_settings(mode="live", sources="uptimerobot,openweather", environ={"UPTIMEROBOT_BASE_URL": "http://127.0.0.1:9", "OPENWEATHER_BASE_URL": "http://127.0.0.1:9"})
    return pipeline.open_run(settings, run_id="blocked-run")


def cache_row_count(run) -> int:
    return sum(run.cache.read(select(func.count()).select_from(table))[0]["count_1"] for table in ALL_CACHE_TABLES.values())


def test_failed_checklist_blocks_ingest(make_settings):
    run = blocked_run(make_settings)
    outcomes = pipeline.ingest(run, "monitoring") + pipeline.ingest(run, "performance")
    assert [outcome.status for outcome in outcomes] == ["blocked", "blocked"]
    assert cache_row_count(run) == 0
    assert run.cache.read(select(request_audit)) == []


def test_failed_checklist_blocks_ingest_source(make_settings):
    run = blocked_run(make_settings)
    outcome = pipeline.ingest_source(run, "uptimerobot")
    assert outcome.status == "blocked"
    assert "UPTIMEROBOT_API_KEY is not set" in outcome.error
    assert cache_row_count(run) == 0


def test_blocked_run_recorded_and_reported(make_settings):
    run = blocked_run(make_settings)
    pipeline.ingest(run, "monitoring")
    statuses = {(row["step"], row["status"]) for row in run.cache.read(select(run_log).where(run_log.c.run_id == run.run_id))}
    assert ("preflight", "blocked") in statuses
    assert ("fetch", "blocked") in statuses
    warnings = build_report(run).sections["Stale data warnings"]
    details = " ".join(warnings["Detail"])
    assert "UPTIMEROBOT_API_KEY is not set" in details
    assert "blocked in this run" in set(warnings["Warning"])
