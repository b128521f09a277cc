"""UptimeRobot API v3 (api_version 3): replay of the documented cassette and a loopback fake."""

from __future__ import annotations

from sqlalchemy import select

from monlab import pipeline
from monlab.cache import alerts, metrics, nodes
from monlab.contract import load_contract
from monlab.freshness import feed_freshness
from monlab.sources import active_contract
from monlab.sources.uptimerobot_v3 import error_message
from source_fakes import FakeAPI, Received, always

KEY = "ur-v3-plantedFakeKey-77aa31c0"
MONITORS, INCIDENTS = "/v3/monitors", "/v3/incidents"


def v3_config(tmp_path, version: int | str = 3) -> str:
    config = tmp_path / "config.yml"
    config.write_text(f"sources:\n  uptimerobot:\n    api_version: {version}\n    incident_days: 7\n", encoding="utf-8")
    return str(config)


def stored(run, table) -> dict[str, dict]:
    return {row["entity_key"]: row for row in run.cache.read(select(table).where(table.c.source_system == "uptimerobot"))}


def replay_v3(make_settings, tmp_path):
    config = tmp_path / "replay.yml"
    config.write_text("sources:\n  uptimerobot:\n    api_version: 3\n", encoding="utf-8")
    settings = make_settings(mode="replay", sources="uptimerobot", scenario="v3_normal", environ={"MONLAB_CONFIG": str(config)})
    run = pipeline.open_run(settings)
    return run, pipeline.ingest_source(run, "uptimerobot")


def test_replay_reads_both_pages(make_settings, tmp_path):
    run, outcome = replay_v3(make_settings, tmp_path)
    rows = stored(run, nodes)

    assert outcome.status == "ok", outcome.error
    assert outcome.requests == 3
    assert set(rows) == {"779101", "779102", "779103", "779104"}
    assert rows["779102"]["status"] == "down"
    assert rows["779104"]["status"] == "paused"
    assert rows["779104"]["status_detail"] == "PAUSED"


def test_replay_open_incident_alert(make_settings, tmp_path):
    run, _ = replay_v3(make_settings, tmp_path)
    rows = stored(run, alerts)

    assert list(rows) == ["incident:8810042"]
    assert rows["incident:8810042"]["severity"] == "critical"
    assert rows["incident:8810042"]["resource"] == "Marketing site"
    assert rows["incident:8810042"]["summary"] == "HTTP 503 - Service Unavailable"


def test_replay_response_times(make_settings, tmp_path):
    run, outcome = replay_v3(make_settings, tmp_path)
    samples = run.cache.read(select(metrics).where(metrics.c.source_system == "uptimerobot", metrics.c.metric_name == "response_time"))

    assert len(samples) == 5
    assert {row["unit"] for row in samples} == {"ms"}
    assert outcome.writes["uptimerobot.v3.response_times"].rejected == 0


def monitor(monitor_id: int, status: str = "UP") -> dict:
    return {"id": monitor_id, "friendlyName": f"Monitor {monitor_id}", "url": f"https://m{monitor_id}.example.com/", "type": "HTTP", "interval": 60, "status": status}


def cursor_pages(url: str, pages: list[list[dict]], repeat_last_link: bool = False):
    """Return a /v3/monitors route serving `pages` by the cursor in the query; the last has nextLink null."""

    def route(request: Received):
        index = int(request.query.get("cursor", ["0"])[0])
        following = index + 1 if index + 1 < len(pages) else None
        if repeat_last_link and following is None:
            following = index
        next_link = f"{url}{MONITORS}?cursor={following}" if following is not None else None
        return 200, {}, {"data": pages[index], "nextLink": next_link}

    return route


def run_live(make_settings, tmp_path, make_routes, version: int | str = 3):
    """Run the source against a fake whose routes make_routes builds from the fake's URL."""
    with FakeAPI({}) as fake:
        fake.routes.update(make_routes(fake.url))
        environ = {"UPTIMEROBOT_BASE_URL": fake.url, "UPTIMEROBOT_API_KEY": KEY, "MONLAB_CONFIG": v3_config(tmp_path, version)}
        run = pipeline.open_run(make_settings(mode="live", sources="uptimerobot", as_of="2026-12-01T06:00:00Z", environ=environ))
        outcome = pipeline.ingest_source(run, "uptimerobot")
    return run, outcome, fake


def normal_routes(url: str) -> dict:
    incidents = {"data": [{"id": 5, "monitorId": 2, "startedAt": "2026-12-01T05:00:00Z", "resolvedAt": None}], "nextLink": None}
    return {
        ("GET", MONITORS): cursor_pages(url, [[monitor(1), monitor(2, "DOWN")], [monitor(3, "PAUSED")]]),
        ("GET", INCIDENTS): always(200, incidents),
    }


def test_live_bearer_and_cursor(make_settings, tmp_path):
    run, outcome, fake = run_live(make_settings, tmp_path, normal_routes)
    pages = fake.received(MONITORS)

    assert outcome.status == "ok", outcome.error
    # The first request is the preflight probe, which reads the first page of v3 monitors.
    assert [page.query.get("cursor") for page in pages] == [None, None, ["1"]]
    assert {page.headers["authorization"] for page in pages} == {f"Bearer {KEY}"}
    assert all("api_key" not in page.query for page in pages)
    assert set(stored(run, nodes)) == {"1", "2", "3"}
    assert stored(run, alerts)["incident:5"]["severity"] == "critical"


def test_live_incident_window(make_settings, tmp_path):
    run, _, fake = run_live(make_settings, tmp_path, normal_routes)
    sent = fake.received(INCIDENTS)[0].query

    assert sent["started_after"] == ["2026-11-24T06:00:00Z"]
    assert sent["started_before"] == ["2026-12-01T06:00:00Z"]
    assert len(stored(run, alerts)) == 1


def test_live_repeating_next_link_stops(make_settings, tmp_path):
    def routes(url: str) -> dict:
        return {("GET", MONITORS): cursor_pages(url, [[monitor(1)], [monitor(2)]], repeat_last_link=True)}

    run, outcome, fake = run_live(make_settings, tmp_path, routes)

    assert outcome.status == "failed"
    assert "pagination repeated a page" in outcome.error
    # The preflight probe, then two pages before the repeated link is refused.
    assert len(fake.received(MONITORS)) == 3
    assert stored(run, nodes) == {}


def test_live_validation_error_list(make_settings, tmp_path):
    body = {"message": ["started_after must be a valid ISO 8601 date string", "started_before must be a valid ISO 8601 date string"], "code": "VALIDATION_ERROR"}
    routes = {("GET", MONITORS): always(200, {"data": [monitor(1)], "nextLink": None}), ("GET", INCIDENTS): always(400, body)}
    run, outcome, _ = run_live(make_settings, tmp_path, lambda url: routes)

    assert outcome.status == "failed"
    assert "HTTP 400" in outcome.error
    assert "started_after must be a valid ISO 8601 date string; started_before must be" in outcome.error
    assert "VALIDATION_ERROR" in outcome.error
    assert stored(run, nodes) == {}


def test_live_bad_key_blocks_at_preflight(make_settings, tmp_path):
    routes = {("GET", MONITORS): always(401, {"message": "Unauthorized", "code": "UNAUTHORIZED"})}
    run, outcome, fake = run_live(make_settings, tmp_path, lambda url: routes)

    # The v3 probe is the first request, so a rejected key blocks the run before any read.
    assert outcome.status == "blocked"
    assert "/v3/monitors: HTTP 401" in outcome.error
    assert KEY not in outcome.error
    assert len(fake.received(MONITORS)) == 1
    assert stored(run, nodes) == {}



def test_invalid_api_version_fails(make_settings, tmp_path):
    run, outcome, fake = run_live(make_settings, tmp_path, lambda url: {}, version=4)

    assert outcome.status == "failed"
    assert "api_version: expected 2 or 3, found 4" in outcome.error
    assert fake.received(MONITORS) == []


def test_error_message_shapes():
    assert error_message({"message": "Not found", "code": "NOT_FOUND"}) == "Not found (code NOT_FOUND)"
    assert error_message({"message": ["a is invalid", "b is missing"]}) == "a is invalid; b is missing"
    assert error_message("<html>") == "no error message"


def test_freshness_skips_other_version(make_settings, tmp_path):
    run, _ = replay_v3(make_settings, tmp_path)
    feeds = {feed.mapping_id: feed for feed in feed_freshness(run.cache, run.contract, run.as_of, run.settings.sources)}

    assert set(feeds) == {"uptimerobot.v3.monitors", "uptimerobot.v3.incidents", "uptimerobot.v3.response_times"}
    assert not any(feed.stale for feed in feeds.values())


def test_default_contract_skips_v3(make_settings):
    settings = make_settings(mode="replay", sources="uptimerobot")
    run = pipeline.open_run(settings)
    streams = {mapping.stream for mapping in run.contract.mappings if mapping.source_system == "uptimerobot"}

    assert streams == {"uptimerobot.monitors", "uptimerobot.down_events", "uptimerobot.response_times", "uptimerobot.uptime_ratios"}


def test_invalid_version_keeps_contract(make_settings, tmp_path):
    settings = make_settings(mode="live", sources="uptimerobot", environ={"MONLAB_CONFIG": v3_config(tmp_path, "two")})
    contract = load_contract(settings.contract_path)

    assert active_contract(contract, settings) == contract


def test_live_rejected_on_incidents_fails_source(make_settings, tmp_path):
    def routes(url: str) -> dict:
        return {
            ("GET", MONITORS): always(200, {"data": [monitor(1)], "nextLink": None}),
            ("GET", INCIDENTS): always(403, {"message": "Forbidden", "code": "FORBIDDEN"}),
        }

    run, outcome, fake = run_live(make_settings, tmp_path, routes)

    assert outcome.status == "failed"
    assert "the API key was rejected" in outcome.error
    assert KEY not in outcome.error
    assert len(fake.received(INCIDENTS)) == 1
