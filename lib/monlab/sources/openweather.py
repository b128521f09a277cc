"""OpenWeatherMap: configured locations as instances, current weather and air quality as metrics.

Readings are requested with units=metric, so temperatures are in degrees Celsius and wind speed in
metres per second; the contract states each unit.

Weather alerts come from One Call 3.0, which needs its own subscription: a key without it gets
HTTP 401 there, which becomes a "not_subscribed" note while the rest of the source is written.
One Call alerts have no id, and the same alert can arrive once per language. Alerts of one
location with the same sender_name, start and end are taken as one alert in several languages:
the one whose event sorts first is kept, and its key is a hash of sender_name, event, start and
end. NOTE: two different alerts of one sender with exactly the same start and end are collapsed
too, because the payload has no language-independent field that distinguishes them.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

from monlab.errors import AuthError, ConfigError, ResponseFormatError, SourceDeferred, SourceError, SourceUnavailable
from monlab.fetch import decode_json
from monlab.sources import SourceContext, SourceNote, StreamBatch

NAME = "openweather"
ROLE = "performance"
SERVICES = ("openweather",)

WEATHER_PATH = "/data/2.5/weather"
AIR_POLLUTION_PATH = "/data/2.5/air_pollution"
ONECALL_PATH = "/data/3.0/onecall"
# Errors that would fail every location the same way, so they end the source. Any other error of
# one location (404 city not found) becomes a "partial" note and the next location is read.
FATAL_ERRORS = (AuthError, SourceDeferred, SourceUnavailable)


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


def _get(context: SourceContext, path: str, location: dict[str, Any], extra: dict[str, str] | None = None) -> Any:
    client = context.client("openweather")
    params = {
        "lat": location["lat"],
        "lon": location["lon"],
        **(extra or {}),
        "units": "metric",
        "appid": context.credential(NAME) or "replay-placeholder",
    }
    try:
        response = client.request("GET", path, params=params)
    except AuthError as exc:
        message = exc.args[0].split(": ", 1)[-1]
        raise AuthError(NAME, f"{message}; check OPENWEATHER_API_KEY", endpoint=exc.endpoint, http_status=exc.http_status) from None
    except SourceUnavailable as exc:
        if exc.http_status != 429:
            raise
        # OpenWeatherMap returns 429 while it blocks an account that went over its plan's limits,
        # and names no time to wait, so the guarded client retried until its attempts ran out.
        raise SourceDeferred(
            NAME, "HTTP 429 on every attempt: the account is temporarily blocked for exceeding its plan's request limits; deferred to the next run",
            wait_s=0.0, endpoint=path, http_status=429,
        ) from None
    body = decode_json(response, NAME, path)
    if not isinstance(body, dict):
        raise ResponseFormatError(NAME, "expected a JSON object", endpoint=path)
    return body


def alert_key(alert: dict[str, Any]) -> str:
    """Return a stable key for an alert, which One Call sends without an id."""
    parts = [str(alert.get(name, "")) for name in ("sender_name", "event", "start", "end")]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16]


def collapse_languages(alerts: list[Any], location: dict[str, Any]) -> list[dict[str, Any]]:
    """Keep one alert per (sender_name, start, end); the others are the same alert in other languages."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for alert in alerts:
        if isinstance(alert, dict):
            groups.setdefault((alert.get("sender_name"), alert.get("start"), alert.get("end")), []).append(alert)
    records = []
    for versions in groups.values():
        versions.sort(key=lambda alert: str(alert.get("event", "")))
        kept = versions[0]
        records.append({
            **kept,
            "_location": location,
            "_key": alert_key(kept),
            "_other_languages": [alert.get("event") for alert in versions[1:]],
        })
    return records


def fetch_alerts(context: SourceContext, locations: list[dict[str, Any]]) -> Iterator[SourceNote | list]:
    """Read One Call alerts per location; a 401 there means the key has no One Call subscription."""
    records = []
    for location in locations:
        try:
            body = _get(context, ONECALL_PATH, location, {"exclude": "minutely,hourly,daily"})
        except AuthError:
            yield SourceNote(
                "not_subscribed",
                "One Call 3.0 answered HTTP 401: this key has no One Call subscription, so weather alerts are not read",
            )
            return
        except SourceError as exc:
            yield SourceNote("partial", f"One Call alerts of location {location['key']}: {exc}")
            return
        # `alerts` is absent when there are none.
        records.extend(collapse_languages(body.get("alerts") or [], location))
    yield records


def collect(context: SourceContext) -> Iterator[StreamBatch | SourceNote]:
    weather, air = [], []
    read = []
    complete = True
    stopped: SourceError | None = None
    for location in configured_locations(context):
        try:
            weather.append({**_get(context, WEATHER_PATH, location), "_location": location})
            reading = _get(context, AIR_POLLUTION_PATH, location)
        except FATAL_ERRORS as exc:
            complete = False
            stopped = exc
            break
        except SourceError as exc:
            # One location failing (for example 404 city not found) leaves the others readable.
            complete = False
            yield SourceNote("partial", f"location {location['key']}: {exc}")
            continue
        read.append(location)
        for item in reading.get("list") or []:
            air.append({**item, "_location": location})

    # The locations read before a fatal error are still written. The read is incomplete, so it
    # marks nothing inactive, and the re-raised error sets the status of the source.
    if weather or stopped is None:
        yield StreamBatch("openweather.weather", weather, complete=complete)
        yield StreamBatch("openweather.air_pollution", air, complete=complete)
    if stopped is not None:
        raise stopped
    if context.options.get("onecall_alerts", True):
        for item in fetch_alerts(context, read):
            if isinstance(item, SourceNote):
                yield item
            else:
                yield StreamBatch("openweather.alerts", item, complete=complete)
