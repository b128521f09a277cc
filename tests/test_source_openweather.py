"""The openweather source against a loopback fake: requests sent, One Call without subscription, a missing city."""

from __future__ import annotations

from sqlalchemy import select

from monlab import pipeline
from monlab.cache import alerts, instances, metrics
from source_fakes import FakeAPI, Received

KEY = "owm-plantedFakeKey-5f2d8c1a9b"
WEATHER, AIR, ONECALL = "/data/2.5/weather", "/data/2.5/air_pollution", "/data/3.0/onecall"
NOW = 1796104800  # 2026-12-01T06:00:00Z
# The locations of data/config.yml, by latitude as the fake receives it.
CITIES = {"52.52": ("Berlin", "Clear"), "6.455": ("Lagos", "Thunderstorm"), "-33.869": ("Sydney", "Clouds")}
NOT_SUBSCRIBED = {"cod": 401, "message": "Please note that using One Call 3.0 requires a separate subscription to the One Call by Call plan."}


def weather(request: Received):
    name, group = CITIES[request.query["lat"][0]]
    return 200, {}, {
        "coord": {"lat": float(request.query["lat"][0]), "lon": float(request.query["lon"][0])},
        "weather": [{"id": 800, "main": group, "description": group.lower(), "icon": "01d"}],
        "main": {"temp": 11.5, "pressure": 1012, "humidity": 70}, "wind": {"speed": 3.0},
        "dt": NOW - 600, "timezone": 3600, "id": 1, "name": name, "cod": 200,
    }


def air(request: Received):
    return 200, {}, {"list": [{"dt": NOW - 3600, "main": {"aqi": 2}, "components": {"pm2_5": 8.1}}]}


def onecall(request: Received):
    return 200, {}, {"lat": float(request.query["lat"][0]), "lon": float(request.query["lon"][0]), "timezone": "Europe/Berlin", "current": {"dt": NOW}}


def routes(**overrides) -> dict:
    chosen = {WEATHER: weather, AIR: air, ONECALL: onecall, **{path: route for path, route in overrides.items()}}
    return {("GET", path): route for path, route in chosen.items()}


def run_against(make_settings, table: dict):
    with FakeAPI(table) as fake:
        environ = {"OPENWEATHER_BASE_URL": fake.url, "OPENWEATHER_API_KEY": KEY}
        run = pipeline.open_run(make_settings(mode="live", sources="openweather", as_of="2026-12-01T06:00:00Z", environ=environ))
        outcome = pipeline.ingest_source(run, "openweather")
    return run, outcome, fake


def stored(run, table) -> dict[str, dict]:
    return {row["entity_key"]: row for row in run.cache.read(select(table).where(table.c.source_system == "openweather"))}


def test_live_query_parameters(make_settings):
    _, outcome, fake = run_against(make_settings, routes())
    sent = fake.received(WEATHER) + fake.received(AIR) + fake.received(ONECALL)

    assert outcome.status == "ok", outcome.error
    assert {request.query["appid"][0] for request in sent} == {KEY}
    assert {request.query.get("units", ["none"])[0] for request in fake.received(AIR)} == {"metric"}
    assert {request.query["exclude"][0] for request in fake.received(ONECALL)} == {"minutely,hourly,daily"}
    assert len(fake.received(ONECALL)) == 3


def test_live_rows_cached(make_settings):
    run, outcome, _ = run_against(make_settings, routes())
    locations = stored(run, instances)
    temperatures = run.cache.read(select(metrics).where(metrics.c.source_system == "openweather", metrics.c.metric_name == "temperature"))

    assert set(locations) == {"berlin", "lagos", "sydney"}
    assert locations["lagos"]["health"] == "warning"
    assert locations["berlin"]["health"] == "ok"
    assert len(temperatures) == 3
    assert outcome.writes["openweather.air_quality_index"].inserted == 3


def test_onecall_401_is_not_subscribed(make_settings):
    run, outcome, fake = run_against(make_settings, routes(**{ONECALL: lambda request: (401, {}, NOT_SUBSCRIBED)}))

    assert outcome.status == "ok", outcome.error
    assert any("One Call" in note and "subscription" in note for note in outcome.notes)
    assert len(fake.received(ONECALL)) == 1
    assert set(stored(run, instances)) == {"berlin", "lagos", "sydney"}
    assert stored(run, alerts) == {}


def test_city_not_found_is_partial(make_settings):
    def weather_or_missing(request: Received):
        if request.query["lat"] == ["6.455"]:
            return 404, {}, {"cod": "404", "message": "city not found"}
        return weather(request)

    run, outcome, fake = run_against(make_settings, routes(**{WEATHER: weather_or_missing}))
    onecall_latitudes = {request.query["lat"][0] for request in fake.received(ONECALL)}

    assert outcome.status == "partial"
    assert any("lagos" in note and "city not found" in note for note in outcome.notes)
    assert set(stored(run, instances)) == {"berlin", "sydney"}
    assert onecall_latitudes == {"52.52", "-33.869"}


def test_city_not_found_inactivates_nothing(make_settings):
    missing = {"on": False}

    def weather_or_missing(request: Received):
        if missing["on"] and request.query["lat"] == ["6.455"]:
            return 404, {}, {"cod": "404", "message": "city not found"}
        return weather(request)

    with FakeAPI(routes(**{WEATHER: weather_or_missing})) as fake:
        environ = {"OPENWEATHER_BASE_URL": fake.url, "OPENWEATHER_API_KEY": KEY}
        run = pipeline.open_run(make_settings(mode="live", sources="openweather", as_of="2026-12-01T06:00:00Z", environ=environ))
        pipeline.ingest_source(run, "openweather")
        missing["on"] = True
        second = pipeline.ingest_source(run, "openweather")

    assert second.status == "partial"
    assert second.writes["openweather.locations"].inactivated == 0
    assert stored(run, instances)["lagos"]["is_active"] is True
