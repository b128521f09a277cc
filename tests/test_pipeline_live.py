"""Live mode against servers on loopback: the same pipeline, real HTTP, plain http allowed on 127.0.0.1."""

from __future__ import annotations

from urllib.parse import parse_qs

from sqlalchemy import func, select

from components import PROJECT_DIR
from monlab import pipeline
from monlab.cache import alerts, instances, metrics, nodes
from source_fakes import FakeAPI, cassette_routes

CASSETTES = PROJECT_DIR / "cassettes"
UPTIME_KEY = "ur-live-test-key-0001"
WEATHER_KEY = "owm-live-test-key-0002"


def count(run, table) -> int:
    return run.cache.read(select(func.count()).select_from(table))[0]["count_1"]


def live_run(make_settings):
    """Run both default sources in live mode against cassette servers; return the run, outcomes and servers."""
    uptime = FakeAPI(cassette_routes(CASSETTES / "uptimerobot" / "normal.yaml"))
    weather = FakeAPI(cassette_routes(CASSETTES / "openweather" / "normal.yaml"))
    with uptime, weather:
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
    temperatures = run.cache.read(select(metrics.c.entity_key, metrics.c.value).where(metrics.c.metric_name == "temperature"))
    assert {row["entity_key"]: row["value"] for row in temperatures} == {"berlin": 2.8, "lagos": 27.4, "sydney": 24.1}


def test_live_run_sends_credentials_only_to_their_api(make_settings):
    _, _, uptime, weather = live_run(make_settings)

    # The preflight probe (getAccountDetails), then one page of getMonitors.
    assert [request.path for request in uptime.requests] == ["/v2/getAccountDetails", "/v2/getMonitors"]
    assert all(parse_qs(request.body)["api_key"] == [UPTIME_KEY] for request in uptime.requests)
    # Three locations, each read for current weather, air pollution and One Call alerts.
    assert sorted({request.path for request in weather.requests}) == ["/data/2.5/air_pollution", "/data/2.5/weather", "/data/3.0/onecall"]
    # The preflight probe reads the weather of the first location once more.
    assert len(weather.requests) == 10
    assert all(request.query["appid"] == [WEATHER_KEY] for request in weather.requests)
    assert all(UPTIME_KEY not in str(request.query) + request.body for request in weather.requests)


def test_live_run_without_key_is_blocked(make_settings):
    settings = make_settings(mode="live", environ={"UPTIMEROBOT_BASE_URL": "http://127.0.0.1:9"})
    run = pipeline.open_run(settings)
    outcomes = pipeline.ingest(run, "monitoring")
    assert outcomes[0].status == "blocked"
    assert "UPTIMEROBOT_API_KEY is not set" in outcomes[0].error
    assert count(run, nodes) == 0
