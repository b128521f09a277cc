"""The uptimerobot source against a loopback fake of API v2: paging, stat "fail", rate limits, secrets."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from monlab import pipeline
from monlab.cache import alerts, metrics, nodes, run_log
from monlab.errors import AuthError, SourceError
from monlab.fetch import AuditTrail, GuardedClient
from monlab.policy import load_policy
from monlab.sources import SourceContext
from monlab.sources import uptimerobot
from source_fakes import FakeAPI, Received, always, in_turn

KEY = "u1234567-plantedFakeKey0987654321"
MONITORS = "/v2/getMonitors"
NOW = 1796104800  # 2026-12-01T06:00:00Z


def monitor(monitor_id: int, status: int = 2, logs: list | None = None) -> dict:
    return {
        "id": monitor_id, "friendly_name": f"Monitor {monitor_id}", "url": f"https://m{monitor_id}.example.com/",
        "type": 1, "sub_type": "", "keyword_type": "", "keyword_value": "", "http_username": "", "http_password": "",
        "port": "", "interval": 300, "status": status, "create_datetime": NOW - 86400,
        "logs": logs or [{"id": monitor_id, "type": 2, "datetime": NOW - 3600, "duration": 3600, "reason": {"code": "200", "detail": "OK"}}],
        "response_times": [{"datetime": NOW - 300, "value": 200 + monitor_id % 50}],
        "average_response_time": "200.000", "custom_uptime_ratio": "100.000-99.900-99.800",
    }


def form(request: Received) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.body, keep_blank_values=True).items()}


def paged_monitors(total: int):
    """Return a getMonitors route that serves `total` monitors by the offset and limit it is sent."""
    everything = [monitor(700000 + number) for number in range(total)]

    def route(request: Received):
        sent = form(request)
        offset, limit = int(sent["offset"]), int(sent["limit"])
        page = everything[offset:offset + limit]
        return 200, {}, {"stat": "ok", "pagination": {"offset": offset, "limit": limit, "total": total}, "monitors": page}

    return route


def open_live(make_settings, fake: FakeAPI):
    environ = {"UPTIMEROBOT_BASE_URL": fake.url, "UPTIMEROBOT_API_KEY": KEY}
    return pipeline.open_run(make_settings(mode="live", sources="uptimerobot", as_of="2026-12-01T06:00:00Z", environ=environ))


def run_against(make_settings, route):
    with FakeAPI({("POST", MONITORS): route}) as fake:
        run = open_live(make_settings, fake)
        outcome = pipeline.ingest_source(run, "uptimerobot")
    return run, outcome, fake


def stored(run, table) -> dict[str, dict]:
    return {row["entity_key"]: row for row in run.cache.read(select(table).where(table.c.source_system == "uptimerobot"))}


def fetch_errors(run) -> list[str]:
    rows = run.cache.read(select(run_log.c.error).where(run_log.c.source_system == "uptimerobot", run_log.c.step == "fetch"))
    return [row["error"] or "" for row in rows]


def fail_body(kind: str, message: str, passed_value: str | None = None) -> dict:
    error = {"type": kind, "message": message}
    if passed_value is not None:
        error.update(parameter_name="api_key", passed_value=passed_value)
    return {"stat": "fail", "error": error}


def test_paging_sends_offsets(make_settings):
    run, outcome, fake = run_against(make_settings, paged_monitors(62))
    sent = [form(request) for request in fake.received(MONITORS)]

    assert outcome.status == "ok", outcome.error
    assert [page["offset"] for page in sent] == ["0", "50"]
    assert {page["limit"] for page in sent} == {"50"}
    assert {page["api_key"] for page in sent} == {KEY}
    assert {page["format"] for page in sent} == {"json"}


def test_paging_caches_both_pages(make_settings):
    run, outcome, _ = run_against(make_settings, paged_monitors(62))
    rows = stored(run, nodes)
    ratios = run.cache.read(select(metrics).where(metrics.c.metric_name == "uptime_ratio_30d"))

    assert len(rows) == 62
    assert "700000" in rows
    assert "700061" in rows
    assert outcome.writes["uptimerobot.monitors"].inserted == 62
    assert len(ratios) == 62


def test_down_monitor_becomes_alert(make_settings):
    down = monitor(42, status=9, logs=[{"id": 1, "type": 1, "datetime": NOW - 600, "duration": 600, "reason": {"code": "503", "detail": "Service Unavailable"}}])
    body = {"stat": "ok", "pagination": {"offset": 0, "limit": 50, "total": 2}, "monitors": [monitor(41), down]}
    run, outcome, _ = run_against(make_settings, always(200, body))
    rows = stored(run, alerts)

    assert outcome.status == "ok", outcome.error
    assert list(rows) == [f"42:{NOW - 600}"]
    assert rows[f"42:{NOW - 600}"]["severity"] == "critical"
    assert rows[f"42:{NOW - 600}"]["summary"] == "Service Unavailable"


@pytest.mark.parametrize("status", [200, 401])
def test_fail_bad_key_with_any_status(make_settings, status):
    body = fail_body("invalid_parameter", "api_key is invalid.", passed_value="not-the-key")
    run, outcome, fake = run_against(make_settings, always(status, body))

    assert outcome.status == "failed"
    assert "the API key was rejected" in outcome.error
    assert "UPTIMEROBOT_API_KEY" in outcome.error
    assert len(fake.received(MONITORS)) == 1
    assert stored(run, nodes) == {}


@pytest.mark.parametrize("status", [200, 400])
def test_fail_internal_error_with_any_status(make_settings, status):
    run, outcome, _ = run_against(make_settings, always(status, fail_body("internal_error", "An internal error occurred.")))

    assert outcome.status == "failed"
    assert "internal_error" in outcome.error
    assert "An internal error occurred." in outcome.error


def test_fail_keeps_last_good_rows(make_settings):
    first = {"stat": "ok", "pagination": {"offset": 0, "limit": 50, "total": 1}, "monitors": [monitor(5)]}
    route = in_turn((200, {}, first), (200, {}, fail_body("internal_error", "An internal error occurred.")))
    with FakeAPI({("POST", MONITORS): route}) as fake:
        run = open_live(make_settings, fake)
        pipeline.ingest_source(run, "uptimerobot")
        second = pipeline.ingest_source(run, "uptimerobot")

    assert second.status == "failed"
    assert stored(run, nodes)["5"]["is_active"] is True


RATE_LIMIT_HTML = "<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>"


def test_rate_limit_over_cap_deferred(make_settings):
    headers = {"Content-Type": "text/html", "Retry-After": "120", "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW + 120)}
    run, outcome, fake = run_against(make_settings, always(429, RATE_LIMIT_HTML, headers))

    assert outcome.status == "deferred"
    assert "120 s" in outcome.error
    assert "text/html" in outcome.error
    assert len(fake.received(MONITORS)) == 1
    assert stored(run, nodes) == {}


def test_rate_limit_under_cap_retried(make_settings):
    limited = (429, {"Content-Type": "text/html", "Retry-After": "0"}, RATE_LIMIT_HTML)
    ok = (200, {}, {"stat": "ok", "pagination": {"offset": 0, "limit": 50, "total": 1}, "monitors": [monitor(9)]})
    run, outcome, fake = run_against(make_settings, in_turn(limited, ok))

    assert outcome.status == "ok", outcome.error
    assert len(fake.received(MONITORS)) == 2
    assert set(stored(run, nodes)) == {"9"}


def test_planted_key_not_in_run(make_settings, tmp_path, caplog):
    body = fail_body("not_authorized", "This API key is not authorized to use this method.", passed_value=KEY)
    caplog.set_level(logging.DEBUG, logger="monlab")
    run, outcome, _ = run_against(make_settings, always(401, body))
    database = Path(tmp_path / "cache.sqlite").read_bytes()

    assert outcome.status == "failed"
    assert "not_authorized" in outcome.error
    assert KEY not in outcome.error
    assert all(KEY not in record.getMessage() for record in caplog.records)
    assert all(KEY not in error for error in fetch_errors(run))
    assert KEY.encode() not in database


def test_planted_key_not_in_exception(make_settings):
    body = fail_body("invalid_parameter", "api_key is invalid.", passed_value=KEY)
    with FakeAPI({("POST", MONITORS): always(200, body)}) as fake:
        settings = make_settings(mode="live", sources="uptimerobot", environ={"UPTIMEROBOT_BASE_URL": fake.url, "UPTIMEROBOT_API_KEY": KEY})
        client = GuardedClient(load_policy(settings.policy_path).for_source("uptimerobot"), "uptimerobot", fake.url, audit=AuditTrail())
        context = SourceContext(settings=settings, clients={"uptimerobot": client}, as_of=datetime.fromtimestamp(NOW, timezone.utc))
        with pytest.raises(SourceError) as caught:
            uptimerobot.fetch_monitors(context)

    assert isinstance(caught.value, AuthError)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value.args)
