"""The calculations behind notebooks 07 to 09: recorded payloads, polling cost and freshness."""

from __future__ import annotations

import pytest

from components import PROJECT_DIR
from monlab import lessons, pipeline
from monlab.lessons import Quota, billable_per_run, peak_window_requests, polling_plan, recorded_exchanges, requests_per_run


def entry(source="github", path="/repos/{owner}/{repo}", status=200, outcome="ok"):
    return {"source_system": source, "path_template": path, "status": status, "outcome": outcome}


def test_recorded_exchanges_decode_json_body():
    exchanges = recorded_exchanges(PROJECT_DIR / "cassettes" / "uptimerobot" / "normal.yaml")
    assert len(exchanges) == 1
    assert exchanges[0].method == "POST"
    assert exchanges[0].status == 200
    assert exchanges[0].body["stat"] == "ok"
    assert len(exchanges[0].body["monitors"]) == exchanges[0].body["pagination"]["total"]


def test_recorded_exchanges_non_json_body(tmp_path):
    path = tmp_path / "cassette.yaml"
    path.write_text(
        "interactions:\n- request: {method: GET, uri: 'http://127.0.0.1/x'}\n"
        "  response: {status: {code: 429}, body: {string: '<html>Too many</html>'}}\n",
        encoding="utf-8",
    )
    exchanges = recorded_exchanges(path)
    assert exchanges[0].status == 429
    assert exchanges[0].body is None


def test_requests_per_run_skips_refused():
    entries = [entry(), entry(), entry(outcome="refused"), entry(source="uptimerobot")]
    assert requests_per_run(entries) == {"github": 2, "uptimerobot": 1}


def test_billable_skips_free_statuses():
    quota = Quota("github", "hourly", 5000, 60, free_statuses=(304,))
    entries = [entry(), entry(status=304), entry(status=304), entry(source="uptimerobot")]
    assert billable_per_run(quota, entries) == 1


def test_billable_counts_only_path_prefix():
    quota = Quota("openweather", "one call", 1000, 1440, path_prefix="/data/3.0/onecall")
    entries = [
        entry("openweather", "/data/2.5/weather"),
        entry("openweather", "/data/3.0/onecall"),
        entry("openweather", "/data/3.0/onecall"),
    ]
    assert billable_per_run(quota, entries) == 2


@pytest.mark.parametrize(
    ("window", "per_run", "interval", "expected"),
    [(1, 1, 5, 1), (60, 7, 5, 84), (60, 7, 7, 63), (1440, 3, 5, 864), (1440, 3, 1, 4320)],
)
def test_peak_window_requests(window, per_run, interval, expected):
    quota = Quota("any", "test", 100, window)
    assert peak_window_requests(quota, per_run, interval) == expected


@pytest.fixture
def replayed_run(make_settings):
    run = pipeline.open_run(make_settings(mode="replay", sources="uptimerobot,openweather"), run_id="plan")
    pipeline.ingest(run, "monitoring")
    pipeline.ingest(run, "performance")
    return run


def plan_rows(run, intervals, quotas=lessons.QUOTAS):
    rows = polling_plan(run.cache, run.contract, run.run_id, run.as_of, intervals, quotas)
    return {(row["source"], row["interval (min)"]): row for row in rows}


def test_plan_requests_per_day(replayed_run):
    rows = plan_rows(replayed_run, {"uptimerobot": [15], "openweather": [60]})
    assert rows[("uptimerobot", 15)]["requests/day"] == 96
    assert rows[("openweather", 60)]["requests/day"] == 24 * 9


def test_plan_staleness_follows_cadence(replayed_run):
    rows = plan_rows(replayed_run, {"uptimerobot": [30, 60]})
    assert rows[("uptimerobot", 30)]["stale feeds"] == "0 of 4"
    assert rows[("uptimerobot", 30)]["stale after 1 failed poll"] == "2 of 4"
    assert rows[("uptimerobot", 60)]["stale feeds"] == "2 of 4"


def test_plan_tightest_quota(replayed_run):
    rows = plan_rows(replayed_run, {"openweather": [1, 5]})
    assert rows[("openweather", 1)]["tightest quota"].startswith("One Call 3.0")
    assert rows[("openweather", 1)]["within quota"] is False
    assert rows[("openweather", 5)]["within quota"] is True


def test_plan_source_without_quota(replayed_run):
    rows = plan_rows(replayed_run, {"uptimerobot": [5]}, quotas=())
    assert rows[("uptimerobot", 5)]["tightest quota"] == "none"
    assert rows[("uptimerobot", 5)]["quota used %"] == 0.0


def test_plan_rejects_unread_source(replayed_run):
    with pytest.raises(ValueError, match="github"):
        plan_rows(replayed_run, {"github": [15]})


def test_plan_rejects_zero_interval(replayed_run):
    with pytest.raises(ValueError, match="positive"):
        plan_rows(replayed_run, {"uptimerobot": [0]})
