"""OpenWeatherMap: configured locations as instances, current weather and air quality as metrics.

Readings are requested with units=metric, so temperatures are in degrees Celsius and wind speed in
metres per second; the contract states each unit.
"""

from __future__ import annotations

from typing import Any, Iterator

from monlab.errors import AuthError, ConfigError, ResponseFormatError, SourceError
from monlab.fetch import decode_json
from monlab.sources import SourceContext, SourceNote, StreamBatch

NAME = "openweather"
ROLE = "performance"
SERVICES = ("openweather",)

WEATHER_PATH = "/data/2.5/weather"
AIR_POLLUTION_PATH = "/data/2.5/air_pollution"


def configured_locations(context: SourceContext) -> list[dict[str, Any]]:
    locations = context.options.get("locations") or []
    checked = []
    for index, location in enumerate(locations):
        if not isinstance(location, dict) or not {"key", "name", "lat", "lon"} <= set(location):
            raise ConfigError(f"sources.openweather.locations[{index}]: each location needs key, name, lat and lon")
        checked.append({"key": str(location["key"]), "name": str(location["name"]), "lat": location["lat"], "lon": location["lon"]})
    if not checked:
        raise ConfigError("sources.openweather.locations is empty: add at least one location to data/config.yml")
    return checked


def _get(context: SourceContext, path: str, location: dict[str, Any]) -> Any:
    client = context.client("openweather")
    params = {
        "lat": location["lat"],
        "lon": location["lon"],
        "units": "metric",
        "appid": context.credential(NAME) or "replay-placeholder",
    }
    body = decode_json(client.request("GET", path, params=params), NAME, path)
    if not isinstance(body, dict):
        raise ResponseFormatError(NAME, "expected a JSON object", endpoint=path)
    return body


def collect(context: SourceContext) -> Iterator[StreamBatch | SourceNote]:
    weather, air = [], []
    complete = True
    for location in configured_locations(context):
        try:
            weather.append({**_get(context, WEATHER_PATH, location), "_location": location})
            reading = _get(context, AIR_POLLUTION_PATH, location)
        except AuthError:
            raise
        except SourceError as exc:
            # One location failing (for example 404 city not found) leaves the others readable.
            complete = False
            yield SourceNote("partial", f"location {location['key']}: {exc}")
            continue
        for item in reading.get("list") or []:
            air.append({**item, "_location": location})

    yield StreamBatch("openweather.weather", weather, complete=complete)
    yield StreamBatch("openweather.air_pollution", air, complete=complete)
