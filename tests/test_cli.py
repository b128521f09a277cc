"""The `monlab run` command end to end, as a user runs it: replay mode, a fresh cache, twice."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cache_tables_count import counts_by_table

MONLAB = [sys.executable, "-m", "monlab.cli"]


def run_monlab(tmp_path: Path, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONLAB_")}
    env.update(
        MONLAB_DB_URL=f"sqlite:///{tmp_path / 'cache.sqlite'}",
        MONLAB_OUTPUT_DIR=str(tmp_path / "output"),
        MONLAB_LOGS_DIR=str(tmp_path / "logs"),
        MONLAB_ENV_FILE="",
        **(extra_env or {}),
    )
    return subprocess.run([*MONLAB, *args], env=env, capture_output=True, text=True, timeout=600)


def table_counts(database: Path) -> dict[str, int]:
    return counts_by_table(sqlite3.connect(database))


def workbook_values(path: Path) -> dict[str, list[tuple]]:
    workbook = load_workbook(path, read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run the default pipeline twice on one cache, keeping the first run's outputs aside."""
    tmp_path = tmp_path_factory.mktemp("cli")
    first = run_monlab(tmp_path, "run")
    first_html = (tmp_path / "output" / "monitoring_daily.html").read_text(encoding="utf-8")
    first_xlsx = workbook_values(tmp_path / "output" / "monitoring_daily.xlsx")
    first_counts = table_counts(tmp_path / "cache.sqlite")
    second = run_monlab(tmp_path, "run")
    return {
        "tmp": tmp_path, "first": first, "second": second, "first_html": first_html,
        "first_xlsx": first_xlsx, "first_counts": first_counts,
    }


def test_run_exits_zero(two_runs):
    assert two_runs["first"].returncode == 0, two_runs["first"].stderr[-2000:]
    assert two_runs["second"].returncode == 0, two_runs["second"].stderr[-2000:]


def test_run_writes_three_outputs(two_runs):
    tmp = two_runs["tmp"]
    assert (tmp / "output" / "monitoring_daily.xlsx").stat().st_size > 0
    assert (tmp / "output" / "monitoring_daily.html").stat().st_size > 0
    # Replay freezes the clock at the cassettes' recording time, 2026-12-01.
    assert (tmp / "logs" / "monitoring_run_20261201.log").stat().st_size > 0


def test_run_fills_every_cache_table(two_runs):
    for name, count in two_runs["first_counts"].items():
        assert count > 0, f"{name} is empty after a run"


def test_second_run_adds_no_rows(two_runs):
    assert table_counts(two_runs["tmp"] / "cache.sqlite") == two_runs["first_counts"]


def test_second_run_gives_same_report(two_runs):
    tmp = two_runs["tmp"]
    assert (tmp / "output" / "monitoring_daily.html").read_text(encoding="utf-8") == two_runs["first_html"]
    assert workbook_values(tmp / "output" / "monitoring_daily.xlsx") == two_runs["first_xlsx"]


def test_run_keeps_executed_notebooks(two_runs):
    runs = sorted((two_runs["tmp"] / "output" / "runs").iterdir())
    assert len(runs) == 2
    names = sorted(path.name for path in runs[0].glob("*.ipynb"))
    assert names == ["01_read_only_policy.ipynb", "02_primary_ingestion.ipynb", "03_secondary_source.ipynb", "06_daily_report.ipynb"]


def test_html_report_sections_have_content(two_runs):
    html = two_runs["first_html"]
    for title, expected in [
        ("Top critical alerts", "Marketing site"),
        ("Down resource summary", "VPN gateway"),
        ("Instance health snapshot", "Lagos"),
        ("Stale data warnings", "Every feed is fresh"),
    ]:
        section = html.split(f"<h2>{title}</h2>", 1)
        assert len(section) == 2, f"section {title!r} missing"
        body = section[1].split("</section>", 1)[0]
        assert expected in body, f"section {title!r} lacks {expected!r}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--sources", "uptimerobot,nosuchsource"], "unknown source 'nosuchsource'"),
        (["run", "--db-url", "nosuchdialect://x"], "invalid database URL"),
        (["run", "--db-url", "sqlite:////nonexistent-dir/monlab/cache.sqlite"], "cannot open the cache"),
        (["run", "--as-of", "yesterday"], "invalid as-of time 'yesterday' (--as-of"),
        (["run", "--sources", ""], "--sources is empty"),
        (["run", "--db-url", "mysql://monlab@127.0.0.1/monlab"], "no installed driver for database URL"),
        (["run", "--scenario", "uptimerobt:bad_key"], "unknown source 'uptimerobt' in scenario"),
        (["run", "--output-dir", "/etc/hostname"], "is a file, not a folder"),
        (["worksheet", "--output", "/proc/monlab-worksheet.md"], "cannot write the worksheet"),
        (["run", "--output-dir", "/proc/monlab-cannot-write-here"], "cannot create the output directory"),
        (["run", "--scenario", "nosuchscenario"], "no cassette for source"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, args, expected):
    result = run_monlab(tmp_path, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("monlab: error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_db_url_hides_password(tmp_path):
    result = run_monlab(tmp_path, "run", "--db-url", "postgresql+nosuchdriver://monlab:s3cret-pass@127.0.0.1:1/monlab")
    assert result.returncode == 2
    assert "s3cret-pass" not in result.stderr
    assert "s3cret-pass" not in result.stdout


def test_planted_secret_appears_nowhere(tmp_path):
    planted = {
        "UPTIMEROBOT_API_KEY": "u999-PLANTED-uptime-secret",
        "OPENWEATHER_API_KEY": "PLANTEDowmSECRET0123456789",
        "GITHUB_TOKEN": "github_pat_PLANTED_secret_value",
    }
    result = run_monlab(tmp_path, "run", extra_env=planted)
    assert result.returncode == 0, result.stderr[-2000:]
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".sqlite" for path in written)
    assert any(path.suffix == ".ipynb" for path in written)
    for secret in planted.values():
        assert secret not in result.stdout
        assert secret not in result.stderr
        for path in written:
            assert secret.encode() not in path.read_bytes(), f"{secret!r} found in {path}"


def test_freshness_table_is_in_stale_section(two_runs):
    html = two_runs["first_html"]
    stale_section = html.split("<h2>Stale data warnings</h2>", 1)[1].split("</section>", 1)[0]
    assert "<h3>Freshness of every feed</h3>" in stale_section
    assert "uptimerobot.monitors" in stale_section


def test_scenario_per_source_runs(tmp_path):
    result = run_monlab(tmp_path, "run", "--scenario", "uptimerobot:bad_key")
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("monlab: warning: ")]
    assert len(warnings) == 1
    assert "uptimerobot fetch failed" in warnings[0]
    html = (tmp_path / "output" / "monitoring_daily.html").read_text(encoding="utf-8")
    stale_section = html.split("<h2>Stale data warnings</h2>", 1)[1].split("</section>", 1)[0]
    assert "failed in this run" in stale_section
    assert "Lagos" in html


def test_prometheus_alone_writes_report(tmp_path):
    result = run_monlab(tmp_path, "run", "--sources", "prometheus")
    assert result.returncode == 0, result.stderr[-2000:]
    html = (tmp_path / "output" / "monitoring_daily.html").read_text(encoding="utf-8")
    assert "TargetDown" in html
