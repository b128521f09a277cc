"""Live mode against servers on loopback: the same pipeline, real HTTP, plain http allowed on 127.0.0.1."""

from __future__ import annotations

from urllib.parse import parse_qs

from sqlalchemy import func, select

from cassette_server import CassetteServer
from components import PROJECT_DIR
from monlab import pipeline
from monlab.cache import alerts, instances, metrics, nodes

CASSETTES = PROJECT_DIR / "cassettes"
UPTIME_KEY = "ur-live-test-key-0001"
WEATHER_KEY = "owm-live-test-key-0002"


ACCOUNT_DETAILS = {
    "status": {"code": 200, "message": "OK"},
    "headers": {"Content-Type": ["application/json"]},
    "body": {"string": '{"stat":"ok","account":{"email":"lab@example.com","monitor_limit":50}}'},
}


def serve_uptimerobot() -> CassetteServer:
    server = CassetteServer(CASSETTES / "uptimerobot" / "normal.yaml")
    server.extra[("POST", "/v2/getAccountDetails")] = ACCOUNT_DETAILS
    return server


def count(run, table) -> int:
    return run.cache.read(select(func.count()).select_from(table))[0]["count_1"]


def live_run(make_settings):
    """Run both default sources in live mode against cassette servers; return the run, outcomes and servers."""
    with serve_uptimerobot() as uptime, CassetteServer(CASSETTES / "openweather" / "normal.yaml") as weather:
        settings = make_settings(
            mode="live",
            environ={
                "UPTIMEROBOT_BASE_URL": uptime.url,
                "OPENWEATHER_BASE_URL": weather.url,
                "UPTIMEROBOT_API_KEY": UPTIME_KEY,
                "OPENWEATHER_API_KEY": WEATHER_KEY,
            },
        )
        run = pipeline.open_run(settings)
        outcomes = pipeline.ingest(run, "monitoring") + pipeline.ingest(run, "performance")
    return run, outcomes, uptime, weather


def test_live_run_reads_loopback_servers(make_settings):
    run, outcomes, _, _ = live_run(make_settings)

    assert [(outcome.source, outcome.status) for outcome in outcomes] == [("uptimerobot", "ok"), ("openweather", "ok")]
    assert count(run, nodes) == 6
    assert count(run, alerts) == 2
    assert count(run, instances) == 3
    assert count(run, metrics) == 56


def test_live_run_sends_credentials_only_to_their_api(make_settings):
    _, _, uptime, weather = live_run(make_settings)

    # The preflight probe (getAccountDetails), then one page of getMonitors.
    assert [request["path"] for request in uptime.received] == ["/v2/getAccountDetails", "/v2/getMonitors"]
    assert all(parse_qs(request["body"])["api_key"] == [UPTIME_KEY] for request in uptime.received)
    # Three locations, each read for current weather, air pollution and One Call alerts.
    assert sorted({request["path"] for request in weather.received}) == ["/data/2.5/air_pollution", "/data/2.5/weather", "/data/3.0/onecall"]
    # The preflight probe reads the weather of the first location once more.
    assert len(weather.received) == 10
    assert all(parse_qs(request["query"])["appid"] == [WEATHER_KEY] for request in weather.received)
    assert all(UPTIME_KEY not in request["query"] + request["body"] for request in weather.received)


def test_live_run_without_key_is_blocked(make_settings):
    settings = make_settings(mode="live", environ={"UPTIMEROBOT_BASE_URL": "http://127.0.0.1:9"})
    run = pipeline.open_run(settings)
    outcomes = pipeline.ingest(run, "monitoring")
    assert outcomes[0].status == "blocked"
    assert "UPTIMEROBOT_API_KEY is not set" in outcomes[0].error
    assert count(run, nodes) == 0
