"""Write the replay cassettes of UptimeRobot and OpenWeatherMap from their documented formats.

These cassettes were not recorded live: no account is needed to run the lab. Their bodies follow
the response formats in the vendors' API documentation (UptimeRobot API v2 getMonitors;
OpenWeatherMap current weather 2.5 and air pollution 2.5), including the quirks real responses
have: uptime ratios as strings, "" for empty numbers, unix-second timestamps.

Run from the repository root: `.venv/bin/python scripts/write_documented_cassettes.py`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode

import yaml

from monlab.redact import MASK
from monlab.sources.uptimerobot import monitors_form

ROOT = Path(__file__).resolve().parents[1]
RECORDED_AT = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)
T = int(RECORDED_AT.timestamp())
MINUTE, HOUR, DAY = 60, 3600, 86400
UPTIMEROBOT_URL = "https://api.uptimerobot.com"
OPENWEATHER_URL = "https://api.openweathermap.org"
PROVENANCE = (
    "written by scripts/write_documented_cassettes.py from the documented response format; "
    "not recorded live"
)


def response(status: int, body, content_type: str = "application/json; charset=utf-8", reason: str | None = None, extra=None):
    text = body if isinstance(body, str) else json.dumps(body, indent=None, separators=(",", ":"))
    headers = {
        "Content-Type": [content_type],
        "Date": [format_datetime(RECORDED_AT, usegmt=True)],
        **{name: [value] for name, value in (extra or {}).items()},
    }
    reasons = {200: "OK", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}
    return {"status": {"code": status, "message": reason or reasons.get(status, "")}, "headers": headers, "body": {"string": text}}


def form_request(url: str, form: dict[str, str]):
    return {
        "method": "POST",
        "uri": url,
        "body": urlencode({**form, "api_key": MASK}),
        "headers": {"Content-Type": ["application/x-www-form-urlencoded"]},
    }


def get_request(url: str, params: dict):
    return {"method": "GET", "uri": f"{url}?{urlencode(params)}", "body": None, "headers": {}}


def write_cassette(source: str, scenario: str, interactions, base_urls: dict[str, str], note: str) -> None:
    path = ROOT / "cassettes" / source / f"{scenario}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": 1,
        "interactions": [{"request": request, "response": answer} for request, answer in interactions],
        "metadata": {
            "source": source,
            "scenario": scenario,
            "provenance": PROVENANCE,
            "scenario_note": note,
            "recorded_at": RECORDED_AT.isoformat().replace("+00:00", "Z"),
            "base_urls": base_urls,
        },
    }
    header = f"# {source}/{scenario}: {note}\n# {PROVENANCE}\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def samples(start: int, values: list[int]) -> list[dict]:
    return [{"datetime": start - index * 20 * MINUTE, "value": value} for index, value in enumerate(values)]


def monitor(monitor_id, name, url, kind, status, logs, times, ratios, **extra):
    base = {
        "id": monitor_id,
        "friendly_name": name,
        "url": url,
        "type": kind,
        "sub_type": "",
        "keyword_type": "",
        "keyword_value": "",
        "http_username": "",
        "http_password": "",
        "port": "",
        "interval": 300,
        "status": status,
        "create_datetime": T - 400 * DAY,
        "logs": logs,
        "response_times": times,
        "average_response_time": f"{sum(s['value'] for s in times) / len(times):.3f}" if times else "",
        "custom_uptime_ratio": ratios,
    }
    base.update(extra)
    return base


def log_entry(kind, at, duration, code, detail, log_id):
    return {"id": log_id, "type": kind, "datetime": at, "duration": duration, "reason": {"code": str(code), "detail": detail}}


def uptimerobot_monitors() -> list[dict]:
    return [
        monitor(779101, "Checkout API", "https://shop.example.com/api/health", 1, 2,
                [log_entry(2, T - 3 * DAY, 3 * DAY, 200, "OK", 91001), log_entry(1, T - 3 * DAY - 12 * MINUTE, 720, 502, "Bad Gateway", 91000)],
                samples(T - 5 * MINUTE, [212, 198, 240, 205]), "99.982-99.910-99.870"),
        monitor(779102, "Marketing site", "https://www.example.com/", 1, 9,
                [log_entry(1, T - 95 * MINUTE, 95 * MINUTE, 503, "Service Unavailable", 91011), log_entry(2, T - 6 * DAY, 6 * DAY, 200, "OK", 91010)],
                samples(T - 5 * MINUTE, [0, 0, 0, 389]), "93.402-99.050-99.710"),
        monitor(779103, "VPN gateway", "vpn.example.com", 3, 8,
                [log_entry(1, T - 20 * MINUTE, 20 * MINUTE, 0, "Connection Timeout", 91021), log_entry(2, T - 2 * DAY, 2 * DAY, 0, "OK", 91020)],
                samples(T - 5 * MINUTE, [0, 48, 51, 47]), "98.611-99.802-99.915"),
        monitor(779104, "Nightly backup heartbeat", "https://heartbeat.uptimerobot.com/m779104-example", 5, 0,
                [log_entry(99, T - 10 * DAY, 10 * DAY, 0, "Paused by user", 91030)],
                [], "0.000-0.000-45.123", interval=86400),
        monitor(779105, "Status page", "https://status.example.com/", 2, 2,
                [log_entry(98, T - 30 * DAY, 30 * DAY, 0, "Started", 91040)],
                samples(T - 5 * MINUTE, [120, 131, 118, 125]), "100.000-100.000-99.998", keyword_type=1, keyword_value="All systems operational"),
        monitor(779106, "Mail relay SMTP", "smtp.example.com", 4, 2,
                [log_entry(2, T - 8 * DAY, 8 * DAY, 0, "OK", 91051)],
                samples(T - 5 * MINUTE, [35, 33, 38, 36]), "100.000-99.990-99.996", sub_type=4, port=25),
    ]


def uptimerobot_normal() -> None:
    monitors = uptimerobot_monitors()
    url = f"{UPTIMEROBOT_URL}/v2/getMonitors"
    body = {"stat": "ok", "pagination": {"offset": 0, "limit": 50, "total": len(monitors)}, "monitors": monitors}
    interactions = [(form_request(url, monitors_form(MASK, [1, 7, 30], 0)), response(200, body))]
    write_cassette("uptimerobot", "normal", interactions, {"uptimerobot": UPTIMEROBOT_URL},
                   "six monitors: three up, one down, one seems down, one paused")


def uptimerobot_bad_key() -> None:
    url = f"{UPTIMEROBOT_URL}/v2/getMonitors"
    # UptimeRobot returns stat "fail" with HTTP 200 for a bad key, and passed_value echoes the key.
    body = {"stat": "fail", "error": {"type": "invalid_parameter", "parameter_name": "api_key", "passed_value": MASK, "message": "api_key is invalid."}}
    interactions = [(form_request(url, monitors_form(MASK, [1, 7, 30], 0)), response(200, body))]
    write_cassette("uptimerobot", "bad_key", interactions, {"uptimerobot": UPTIMEROBOT_URL},
                   "the API key is rejected: stat fail, invalid_parameter api_key, with HTTP 200")


LOCATIONS = [
    {"key": "berlin", "name": "Berlin", "lat": 52.52, "lon": 13.405, "owm_id": 2950159, "tz": 3600},
    {"key": "lagos", "name": "Lagos", "lat": 6.455, "lon": 3.394, "owm_id": 2332459, "tz": 3600},
    {"key": "sydney", "name": "Sydney", "lat": -33.869, "lon": 151.209, "owm_id": 2147714, "tz": 39600},
]
WEATHER = {
    "berlin": ({"id": 804, "main": "Clouds", "description": "overcast clouds", "icon": "04n"}, 2.8, 87, 1016, 4.1, {"all": 100}),
    "lagos": ({"id": 211, "main": "Thunderstorm", "description": "thunderstorm", "icon": "11d"}, 27.4, 84, 1010, 5.7, {"all": 75}),
    "sydney": ({"id": 800, "main": "Clear", "description": "clear sky", "icon": "01d"}, 24.1, 52, 1013, 6.2, {"all": 0}),
}
AIR = {"berlin": (2, 11.2), "lagos": (4, 58.9), "sydney": (1, 3.4)}


def weather_body(location) -> dict:
    condition, temp, humidity, pressure, wind, clouds = WEATHER[location["key"]]
    body = {
        "coord": {"lon": location["lon"], "lat": location["lat"]},
        "weather": [condition],
        "base": "stations",
        "main": {"temp": temp, "feels_like": round(temp - 1.3, 2), "temp_min": round(temp - 0.8, 2), "temp_max": round(temp + 0.9, 2), "pressure": pressure, "humidity": humidity},
        "visibility": 10000,
        "wind": {"speed": wind, "deg": 240},
        "clouds": clouds,
        "dt": T - 7 * MINUTE,
        "sys": {"country": {"berlin": "DE", "lagos": "NG", "sydney": "AU"}[location["key"]], "sunrise": T - 2 * HOUR, "sunset": T + 8 * HOUR},
        "timezone": location["tz"],
        "id": location["owm_id"],
        "name": location["name"],
        "cod": 200,
    }
    if location["key"] == "lagos":
        body["rain"] = {"1h": 3.2}
    return body


def air_body(location) -> dict:
    aqi, pm25 = AIR[location["key"]]
    return {
        "coord": {"lon": location["lon"], "lat": location["lat"]},
        "list": [{"main": {"aqi": aqi}, "components": {"co": 230.3, "no": 0.1, "no2": 12.5, "o3": 48.6, "so2": 1.9, "pm2_5": pm25, "pm10": round(pm25 * 1.4, 2), "nh3": 0.7}, "dt": T - HOUR}],
    }


def weather_params(location) -> dict:
    return {"lat": location["lat"], "lon": location["lon"], "units": "metric", "appid": MASK}


def openweather_normal() -> None:
    interactions = []
    for location in LOCATIONS:
        interactions.append((get_request(f"{OPENWEATHER_URL}/data/2.5/weather", weather_params(location)), response(200, weather_body(location))))
        interactions.append((get_request(f"{OPENWEATHER_URL}/data/2.5/air_pollution", weather_params(location)), response(200, air_body(location))))
    write_cassette("openweather", "normal", interactions, {"openweather": OPENWEATHER_URL},
                   "current weather and air quality for Berlin, Lagos (thunderstorm) and Sydney")


def openweather_bad_key() -> None:
    body = {"cod": 401, "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}
    location = LOCATIONS[0]
    interactions = [(get_request(f"{OPENWEATHER_URL}/data/2.5/weather", weather_params(location)), response(401, body))]
    write_cassette("openweather", "bad_key", interactions, {"openweather": OPENWEATHER_URL}, "the API key is rejected with HTTP 401")


if __name__ == "__main__":
    uptimerobot_normal()
    uptimerobot_bad_key()
    openweather_normal()
    openweather_bad_key()
