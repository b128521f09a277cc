"""Replay of the documented cassettes of UptimeRobot, OpenWeatherMap and GitHub: rows and statuses."""

from __future__ import annotations

import dataclasses
import shutil

from sqlalchemy import select

from components import PROJECT_DIR
from monlab import pipeline
from monlab.cache import alerts, instances, metrics, nodes, request_audit, run_log


def replay(make_settings, source: str, scenario: str):
    run = pipeline.open_run(make_settings(mode="replay", sources=source, scenario=scenario))
    return run, pipeline.ingest_source(run, source)


def rows(run, table, source: str) -> dict[str, dict]:
    return {row["entity_key"]: row for row in run.cache.read(select(table).where(table.c.source_system == source))}


def test_uptimerobot_paging_reads_both_pages(make_settings):
    run, outcome = replay(make_settings, "uptimerobot", "paging")

    assert outcome.status == "ok"
    assert len(rows(run, nodes, "uptimerobot")) == 55
    assert "780048" in rows(run, nodes, "uptimerobot")
    assert outcome.requests == 2


def test_uptimerobot_rate_limit_is_deferred(make_settings):
    run, outcome = replay(make_settings, "uptimerobot", "rate_limit")

    assert outcome.status == "deferred"
    assert "120 s" in outcome.error
    assert rows(run, nodes, "uptimerobot") == {}


def test_uptimerobot_internal_error_fails(make_settings):
    _, outcome = replay(make_settings, "uptimerobot", "internal_error")

    assert outcome.status == "failed"
    assert "internal_error" in outcome.error


def test_uptimerobot_not_authorized_hides_passed_value(make_settings):
    run, outcome = replay(make_settings, "uptimerobot", "not_authorized")
    logged = run.cache.read(select(run_log.c.error).where(run_log.c.source_system == "uptimerobot"))

    assert outcome.status == "failed"
    assert "not_authorized" in outcome.error
    assert "passed_value" not in outcome.error
    assert all("REDACTED" not in (row["error"] or "") for row in logged)


def test_openweather_normal_has_no_alerts(make_settings):
    run, outcome = replay(make_settings, "openweather", "normal")

    assert outcome.status == "ok"
    assert rows(run, alerts, "openweather") == {}
    assert len(rows(run, instances, "openweather")) == 3


def test_openweather_alert_languages_collapse(make_settings):
    run, outcome = replay(make_settings, "openweather", "onecall_alerts")
    stored = rows(run, alerts, "openweather")
    names = sorted(row["alert_name"] for row in stored.values())

    assert outcome.status == "ok"
    assert names == ["Frost", "Storm gusts"]
    assert all(key.startswith("berlin:") for key in stored)
    assert all(row["resource"] == "Berlin" for row in stored.values())


def test_openweather_alert_keys_are_stable(make_settings):
    first, _ = replay(make_settings, "openweather", "onecall_alerts")
    keys = set(rows(first, alerts, "openweather"))
    again = pipeline.ingest_source(first, "openweather")

    assert again.writes["openweather.alerts"].unchanged == len(keys)
    assert set(rows(first, alerts, "openweather")) == keys


def test_openweather_not_subscribed_is_a_note(make_settings):
    run, outcome = replay(make_settings, "openweather", "not_subscribed")

    assert outcome.status == "ok"
    assert any("One Call" in note and "subscription" in note for note in outcome.notes)
    assert len(rows(run, instances, "openweather")) == 3


def test_openweather_city_not_found_is_partial(make_settings):
    run, outcome = replay(make_settings, "openweather", "city_not_found")

    assert outcome.status == "partial"
    assert any("lagos" in note and "city not found" in note for note in outcome.notes)
    assert set(rows(run, instances, "openweather")) == {"berlin", "sydney"}


def replay_beside_uptimerobot(make_settings, tmp_path, scenario: str):
    """Replay an openweather scenario and UptimeRobot's normal cassette in one run.

    One scenario name selects the cassette of every source, so both go to a copy of the cassette
    folder where UptimeRobot's normal cassette carries the openweather scenario's name.
    """
    cassettes = tmp_path / "cassettes"
    for source, name in (("openweather", scenario), ("uptimerobot", "normal")):
        (cassettes / source).mkdir(parents=True)
        shutil.copy(PROJECT_DIR / "cassettes" / source / f"{name}.yaml", cassettes / source / f"{scenario}.yaml")
    settings = make_settings(mode="replay", sources="uptimerobot,openweather", scenario=scenario, environ={"MONLAB_CASSETTE_DIR": str(cassettes)})
    run = pipeline.open_run(settings)
    return run, {source: pipeline.ingest_source(run, source) for source in ("uptimerobot", "openweather")}


def attempts(run, source: str) -> list[tuple[str, int, int]]:
    found = run.cache.read(select(request_audit).where(request_audit.c.source_system == source).order_by(request_audit.c.id))
    return [(row["path_template"], row["attempt"], row["status"]) for row in found]


def test_openweather_account_blocked_deferred(make_settings, tmp_path):
    run, outcomes = replay_beside_uptimerobot(make_settings, tmp_path, "account_blocked")

    assert outcomes["openweather"].status == "deferred"
    assert "HTTP 429" in outcomes["openweather"].error
    assert "temporarily blocked" in outcomes["openweather"].error
    assert attempts(run, "openweather") == [("/data/2.5/weather", number, 429) for number in (1, 2, 3, 4)]
    assert rows(run, instances, "openweather") == {}


def test_openweather_account_blocked_other_source_ok(make_settings, tmp_path):
    run, outcomes = replay_beside_uptimerobot(make_settings, tmp_path, "account_blocked")
    statuses = {row["source_system"]: row["status"] for row in run.cache.read(select(run_log).where(run_log.c.step == "fetch"))}

    assert outcomes["uptimerobot"].status == "ok"
    assert len(rows(run, nodes, "uptimerobot")) == 6
    assert statuses == {"uptimerobot": "ok", "openweather": "deferred"}


def test_openweather_server_error_fails(make_settings, tmp_path):
    run, outcomes = replay_beside_uptimerobot(make_settings, tmp_path, "server_error")
    paths = [path for path, _, _ in attempts(run, "openweather")]

    assert outcomes["openweather"].status == "failed"
    assert "HTTP 502 (text/html) after 4 attempts" in outcomes["openweather"].error
    assert set(rows(run, instances, "openweather")) == {"berlin"}
    assert paths.count("/data/2.5/weather") == 5
    assert "/data/3.0/onecall" not in paths


def test_openweather_server_error_other_source_ok(make_settings, tmp_path):
    run, outcomes = replay_beside_uptimerobot(make_settings, tmp_path, "server_error")

    assert outcomes["uptimerobot"].status == "ok"
    assert len(rows(run, nodes, "uptimerobot")) == 6
    assert len(rows(run, alerts, "uptimerobot")) == 2


def test_openweather_server_error_inactivates_nothing(make_settings, tmp_path):
    run, _ = replay(make_settings, "openweather", "normal")
    later = dataclasses.replace(run, settings=run.settings.with_changes(scenario="server_error"))
    failed = pipeline.ingest_source(later, "openweather")
    stored = rows(run, instances, "openweather")

    assert failed.status == "failed"
    assert failed.writes["openweather.locations"].inactivated == 0
    assert all(row["is_active"] for row in stored.values())
    assert len(stored) == 3


def test_github_normal_rows(make_settings):
    run, outcome = replay(make_settings, "github", "normal")
    stored_alerts = rows(run, alerts, "github")
    runs = {key: row for key, row in stored_alerts.items() if key.startswith("run:")}

    assert outcome.status == "ok"
    assert len(runs) == 3
    assert runs["run:octo-org/checkout-service:9100003"]["severity"] == "critical"
    assert stored_alerts["dependabot:octo-org/checkout-service:43"]["severity"] == "critical"
    assert stored_alerts["code-scanning:octo-org/checkout-service:8"]["state"] == "unknown"
    assert rows(run, nodes, "github")["runner:32"]["status"] == "down"
    assert rows(run, instances, "github")["octo-org/checkout-service"]["health"] == "ok"


def test_github_normal_durations_from_both_pages(make_settings):
    run, _ = replay(make_settings, "github", "normal")
    durations = run.cache.read(select(metrics).where(metrics.c.metric_name == "workflow_run_duration"))

    assert len(durations) == 101
    assert {row["unit"] for row in durations} == {"s"}


def test_github_bad_key_fails(make_settings):
    _, outcome = replay(make_settings, "github", "bad_key")

    assert outcome.status == "failed"
    assert "Bad credentials" in outcome.error
    assert "check GITHUB_TOKEN" in outcome.error
    assert "/repos/{owner}/{repo}" in outcome.error


def test_github_rate_limit_is_deferred(make_settings):
    run, outcome = replay(make_settings, "github", "rate_limit")
    remaining = run.cache.read(select(metrics.c.value).where(metrics.c.metric_name == "x-ratelimit-remaining"))

    assert outcome.status == "deferred"
    assert "1800 s" in outcome.error
    assert [row["value"] for row in remaining] == [0.0]


def test_github_server_error_fails(make_settings):
    _, outcome = replay(make_settings, "github", "server_error")

    assert outcome.status == "failed"
    assert "HTTP 502" in outcome.error
    assert "after 3 attempts" in outcome.error


def test_github_unknown_repo_keeps_org_runners(make_settings):
    run, outcome = replay(make_settings, "github", "unknown_repo")

    assert outcome.status == "partial"
    assert set(rows(run, nodes, "github")) == {"runner:501"}


def test_github_not_modified_keeps_rows(make_settings):
    first, _ = replay(make_settings, "github", "normal")
    before = {table.name: rows(first, table, "github") for table in (alerts, nodes, instances)}
    second, outcome = replay(make_settings, "github", "not_modified")
    after = {table.name: rows(second, table, "github") for table in (alerts, nodes, instances)}

    assert outcome.status == "ok", outcome.error
    assert {name: set(found) for name, found in after.items()} == {name: set(found) for name, found in before.items()}
    assert all(row["is_active"] for found in after.values() for row in found.values())
    assert sum(counts.inactivated for counts in outcome.writes.values()) == 0


def test_github_not_modified_reads_stored_bodies(make_settings):
    replay(make_settings, "github", "normal")
    second, outcome = replay(make_settings, "github", "not_modified")
    statuses = [row["status"] for row in second.cache.read(select(request_audit.c.status).where(request_audit.c.run_id == second.run_id))]
    remaining = second.cache.read(select(metrics.c.value).where(metrics.c.metric_name == "x-ratelimit-remaining").order_by(metrics.c.observed_at_utc))

    assert statuses.count(304) == 5
    assert statuses.count(200) == 2
    assert outcome.writes["github.workflow_runs"].fetched == 3
    assert outcome.writes["github.workflow_runs"].unchanged == 3
    assert outcome.writes["github.dependabot_alerts"].unchanged == 2
    assert [row["value"] for row in remaining] == [4984.0, 4982.0]


def test_github_not_modified_marks_incomplete(make_settings):
    replay(make_settings, "github", "normal")
    second, _ = replay(make_settings, "github", "not_modified")
    writes = second.cache.read(select(run_log).where(run_log.c.run_id == second.run_id, run_log.c.step == "write"))
    statuses = {row["mapping_id"]: row["status"] for row in writes}

    # A stored body replaces the empty 304 response, so its stream is written as an incomplete read.
    assert statuses["github.workflow_runs"] == "partial"
    assert statuses["github.dependabot_alerts"] == "partial"
    assert statuses["github.runners"] == "ok"
