"""Write the replay cassettes of UptimeRobot, OpenWeatherMap and GitHub from their documented formats.

These cassettes were not recorded live: no account is needed to run the lab. Their bodies follow
the response formats in the vendors' API documentation (UptimeRobot API v2 getMonitors;
OpenWeatherMap current weather 2.5, air pollution 2.5 and One Call 3.0; GitHub REST 2022-11-28),
including the quirks real responses have: uptime ratios as strings, "" for empty numbers,
unix-second timestamps, alerts without ids, null conclusions. The Prometheus cassettes are recorded
from real servers by scripts/record_prometheus_cassettes.py instead.

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


def response(status: int, body, content_type: str = "application/json; charset=utf-8", reason: str | None = None, extra=None, at: datetime = RECORDED_AT):
    text = body if isinstance(body, str) else json.dumps(body, indent=None, separators=(",", ":"))
    headers = {
        "Content-Type": [content_type],
        "Date": [format_datetime(at, usegmt=True)],
        **{name: [value] for name, value in (extra or {}).items()},
    }
    reasons = {200: "OK", 304: "Not Modified", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}
    return {"status": {"code": status, "message": reason or reasons.get(status, "")}, "headers": headers, "body": {"string": text}}


def form_request(url: str, form: dict[str, str]):
    return {
        "method": "POST",
        "uri": url,
        "body": urlencode({**form, "api_key": MASK}),
        "headers": {"Content-Type": ["application/x-www-form-urlencoded"]},
    }


def get_request(url: str, params: dict | None = None):
    uri = f"{url}?{urlencode(params)}" if params else url
    return {"method": "GET", "uri": uri, "body": None, "headers": {}}


def write_cassette(source: str, scenario: str, interactions, base_urls: dict[str, str], note: str, recorded_at: datetime = RECORDED_AT,
                   provenance: str = PROVENANCE) -> None:
    path = ROOT / "cassettes" / source / f"{scenario}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": 1,
        "interactions": [{"request": request, "response": answer} for request, answer in interactions],
        "metadata": {
            "source": source,
            "scenario": scenario,
            "provenance": provenance,
            "scenario_note": note,
            "recorded_at": recorded_at.isoformat().replace("+00:00", "Z"),
            "base_urls": base_urls,
        },
    }
    header = f"# {source}/{scenario}: {note}\n# {provenance}\n"
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
        interactions.append((onecall_request(location), response(200, onecall_body(location, []))))
    write_cassette("openweather", "normal", interactions, {"openweather": OPENWEATHER_URL},
                   "current weather and air quality for Berlin, Lagos (thunderstorm) and Sydney; One Call without alerts")


def openweather_bad_key() -> None:
    body = {"cod": 401, "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}
    location = LOCATIONS[0]
    interactions = [(get_request(f"{OPENWEATHER_URL}/data/2.5/weather", weather_params(location)), response(401, body))]
    write_cassette("openweather", "bad_key", interactions, {"openweather": OPENWEATHER_URL}, "the API key is rejected with HTTP 401")




TIMEZONES = {"berlin": "Europe/Berlin", "lagos": "Africa/Lagos", "sydney": "Australia/Sydney"}


def onecall_request(location):
    params = {"lat": location["lat"], "lon": location["lon"], "exclude": "minutely,hourly,daily", "units": "metric", "appid": MASK}
    return get_request(f"{OPENWEATHER_URL}/data/3.0/onecall", params)


def onecall_body(location, alerts: list[dict]) -> dict:
    condition, temp, humidity, pressure, wind, clouds = WEATHER[location["key"]]
    body = {
        "lat": location["lat"], "lon": location["lon"], "timezone": TIMEZONES[location["key"]], "timezone_offset": location["tz"],
        "current": {"dt": T - 7 * MINUTE, "temp": temp, "pressure": pressure, "humidity": humidity, "clouds": clouds["all"], "wind_speed": wind, "weather": [condition]},
    }
    # One Call leaves `alerts` out when there are none.
    if alerts:
        body["alerts"] = alerts
    return body


def openweather_interactions(overrides: dict | None = None):
    """Every request of a normal run; overrides maps (path, location key) to another response."""
    overrides = overrides or {}
    interactions = []
    for location in LOCATIONS:
        for path, body in (("/data/2.5/weather", weather_body(location)), ("/data/2.5/air_pollution", air_body(location))):
            answer = overrides.get((path, location["key"]), response(200, body))
            interactions.append((get_request(f"{OPENWEATHER_URL}{path}", weather_params(location)), answer))
            if answer["status"]["code"] != 200:
                break
        else:
            answer = overrides.get(("/data/3.0/onecall", location["key"]), response(200, onecall_body(location, [])))
            interactions.append((onecall_request(location), answer))
    return interactions


def openweather_onecall_alerts() -> None:
    start, end = T - 2 * HOUR, T + 10 * HOUR
    sender = "Deutscher Wetterdienst"
    alerts = [
        {"sender_name": sender, "event": "Sturmböen", "start": start, "end": end, "description": "Es treten Sturmböen mit Geschwindigkeiten um 70 km/h auf.", "tags": ["Wind"]},
        {"sender_name": sender, "event": "Storm gusts", "start": start, "end": end, "description": "There is a risk of storm gusts of around 70 km/h.", "tags": ["Wind"]},
        {"sender_name": sender, "event": "Frost", "start": T + 12 * HOUR, "end": T + 20 * HOUR, "description": "Frost zwischen -2 und -5 Grad.", "tags": ["Extreme low temperature"]},
    ]
    overrides = {("/data/3.0/onecall", "berlin"): response(200, onecall_body(LOCATIONS[0], alerts))}
    write_cassette("openweather", "onecall_alerts", openweather_interactions(overrides), {"openweather": OPENWEATHER_URL},
                   "Berlin has a storm-gust alert sent in German and English (one alert) and a frost alert")


def openweather_not_subscribed() -> None:
    body = {"cod": 401, "message": "Please note that using One Call 3.0 requires a separate subscription to the One Call by Call plan. Learn more here https://openweathermap.org/price."}
    overrides = {("/data/3.0/onecall", "berlin"): response(401, body)}
    interactions = [item for item in openweather_interactions(overrides) if "onecall" not in item[0]["uri"] or "52.52" in item[0]["uri"]]
    write_cassette("openweather", "not_subscribed", interactions, {"openweather": OPENWEATHER_URL},
                   "the key has no One Call 3.0 subscription: HTTP 401 on /data/3.0/onecall, weather and air quality answer")


def openweather_city_not_found() -> None:
    overrides = {("/data/2.5/weather", "lagos"): response(404, {"cod": "404", "message": "city not found"})}
    write_cassette("openweather", "city_not_found", openweather_interactions(overrides), {"openweather": OPENWEATHER_URL},
                   "the weather of Lagos answers 404 city not found (cod as a string); Berlin and Sydney answer")


# The openweather policy allows 4 attempts per request, and replay plays each recording once.
OPENWEATHER_ATTEMPTS = 4


def openweather_account_blocked() -> None:
    body = {"cod": 429, "message": "Your account is temporary blocked due to exceeding of requests limitation of your subscription type. Please choose the proper subscription https://openweathermap.org/price"}
    request = get_request(f"{OPENWEATHER_URL}/data/2.5/weather", weather_params(LOCATIONS[0]))
    interactions = [(request, response(429, body)) for _ in range(OPENWEATHER_ATTEMPTS)]
    write_cassette("openweather", "account_blocked", interactions, {"openweather": OPENWEATHER_URL},
                   "HTTP 429 with no Retry-After on every attempt for Berlin: the account is temporarily blocked, so the source is deferred")


def openweather_server_error() -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
    interactions = openweather_interactions()[:2]
    lagos = get_request(f"{OPENWEATHER_URL}/data/2.5/weather", weather_params(LOCATIONS[1]))
    interactions += [(lagos, response(502, html, "text/html")) for _ in range(OPENWEATHER_ATTEMPTS)]
    write_cassette("openweather", "server_error", interactions, {"openweather": OPENWEATHER_URL},
                   "Berlin answers; the weather of Lagos answers HTTP 502 with an HTML body on every attempt, so the source fails "
                   "after writing Berlin and never asks for Sydney")


def uptimerobot_paging() -> None:
    monitors = uptimerobot_monitors()
    for number in range(49):
        monitors.append(monitor(780000 + number, f"Shop node {number:02d}", f"https://node{number:02d}.shop.example.com/health", 1, 2,
                                [log_entry(2, T - 5 * DAY, 5 * DAY, 200, "OK", 92000 + number)],
                                samples(T - 5 * MINUTE, [100 + number, 101 + number]), "100.000-100.000-99.990"))
    url = f"{UPTIMEROBOT_URL}/v2/getMonitors"
    interactions = []
    for offset in (0, 50):
        page = monitors[offset:offset + 50]
        body = {"stat": "ok", "pagination": {"offset": offset, "limit": 50, "total": len(monitors)}, "monitors": page}
        interactions.append((form_request(url, monitors_form(MASK, [1, 7, 30], offset)), response(200, body)))
    write_cassette("uptimerobot", "paging", interactions, {"uptimerobot": UPTIMEROBOT_URL},
                   f"{len(monitors)} monitors on two pages of getMonitors (offset 0 and 50, limit 50)")


def uptimerobot_error(scenario: str, status: int, error: dict, note: str) -> None:
    url = f"{UPTIMEROBOT_URL}/v2/getMonitors"
    body = {"stat": "fail", "error": error}
    interactions = [(form_request(url, monitors_form(MASK, [1, 7, 30], 0)), response(status, body))]
    write_cassette("uptimerobot", scenario, interactions, {"uptimerobot": UPTIMEROBOT_URL}, note)


def uptimerobot_rate_limit() -> None:
    url = f"{UPTIMEROBOT_URL}/v2/getMonitors"
    html = "<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>"
    headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(T + 120), "Retry-After": "120"}
    interactions = [(form_request(url, monitors_form(MASK, [1, 7, 30], 0)), response(429, html, "text/html", extra=headers))]
    write_cassette("uptimerobot", "rate_limit", interactions, {"uptimerobot": UPTIMEROBOT_URL},
                   "HTTP 429 with an HTML body and Retry-After 120, longer than the policy's 60 s wait, so the source is deferred")


UPTIMEROBOT_V3_NOTE = (
    "API v3 documents the envelope ({data, nextLink}, null on the last page), the Bearer header, the status strings "
    "and the started_after/started_before filters; the other field names (friendlyName, url, type, interval, createDateTime, "
    "responseTimes, monitorId, startedAt, resolvedAt, reason) are the camelCase form of the v2 names, not confirmed"
)


def v3_monitor(monitor_id: int, name: str, url: str, kind: str, status: str, times: list[int]) -> dict:
    return {
        "id": monitor_id, "friendlyName": name, "url": url, "type": kind, "interval": 300, "status": status,
        "createDateTime": iso(T - 400 * DAY),
        "responseTimes": [{"datetime": iso(T - (5 + 20 * index) * MINUTE), "value": value} for index, value in enumerate(times)],
    }


def v3_request(url: str, params: dict | None = None):
    request = get_request(url, params)
    request["headers"] = {"Authorization": [MASK], "Accept": ["application/json"]}
    return request


def uptimerobot_v3_normal() -> None:
    first_page = [
        v3_monitor(779101, "Checkout API", "https://shop.example.com/api/health", "HTTP", "UP", [212, 198]),
        v3_monitor(779102, "Marketing site", "https://www.example.com/", "HTTP", "DOWN", [0, 389]),
    ]
    second_page = [
        v3_monitor(779103, "VPN gateway", "vpn.example.com", "PING", "UP", [48]),
        v3_monitor(779104, "Nightly backup heartbeat", "https://heartbeat.uptimerobot.com/m779104-example", "HEARTBEAT", "PAUSED", []),
    ]
    incidents = [
        {"id": "8810042", "monitorId": 779102, "startedAt": iso(T - 95 * MINUTE), "resolvedAt": None, "reason": "HTTP 503 - Service Unavailable"},
        {"id": "8810031", "monitorId": 779103, "startedAt": iso(T - 2 * DAY), "resolvedAt": iso(T - 2 * DAY + 20 * MINUTE), "reason": "Connection Timeout"},
    ]
    base = f"{UPTIMEROBOT_URL}/v3"
    next_link = f"{base}/monitors?cursor=eyJpZCI6Nzc5MTAyfQ"
    window = {"started_after": iso(T - 30 * DAY), "started_before": iso(T)}
    interactions = [
        (v3_request(f"{base}/monitors"), response(200, {"data": first_page, "nextLink": next_link})),
        (v3_request(next_link), response(200, {"data": second_page, "nextLink": None})),
        (v3_request(f"{base}/incidents", window), response(200, {"data": incidents, "nextLink": None})),
    ]
    write_cassette("uptimerobot", "v3_normal", interactions, {"uptimerobot": UPTIMEROBOT_URL},
                   "API v3 (sources.uptimerobot.api_version 3): four monitors on two cursor pages (one DOWN, one PAUSED), "
                   "one open and one resolved incident", provenance=f"{PROVENANCE}. {UPTIMEROBOT_V3_NOTE}")


GITHUB_URL = "https://api.github.com"
GITHUB_REPO = "octo-org/checkout-service"
GITHUB_REPO_ID = 681234501


def github_headers(remaining: int, etag: str | None = None, link: str | None = None) -> dict[str, str]:
    headers = {
        "x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining), "x-ratelimit-used": str(5000 - remaining),
        "x-ratelimit-reset": str(T + 40 * MINUTE), "x-ratelimit-resource": "core", "X-GitHub-Api-Version-Selected": "2022-11-28",
    }
    if etag:
        headers["ETag"] = etag
    if link:
        headers["Link"] = link
    return headers


def github_run(run_id: int, conclusion, branch: str, started: int, minutes: int, status: str = "completed", name: str = "CI") -> dict:
    return {
        "id": run_id, "name": name, "workflow_id": {"CI": 5101, "Nightly": 5102}[name], "head_branch": branch, "run_number": run_id % 1000,
        "event": "push", "status": status, "conclusion": conclusion, "display_title": f"{name} on {branch} #{run_id % 1000}",
        "run_started_at": iso(started), "created_at": iso(started), "updated_at": iso(started + minutes * MINUTE),
        "html_url": f"https://github.com/{GITHUB_REPO}/actions/runs/{run_id}",
    }


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def github_runs() -> list[dict]:
    runs = [github_run(9100000 + index, "success", "main", T - (index + 2) * HOUR, 6 + index % 4) for index in range(100)]
    runs[3] = github_run(9100003, "failure", "main", T - 5 * HOUR, 9)
    runs[7] = github_run(9100007, "timed_out", "feature/payments", T - 9 * HOUR, 60, name="Nightly")
    runs[0] = github_run(9100000, None, "main", T - 20 * MINUTE, 0, status="in_progress")
    older = [github_run(9099900, "failure", "feature/search", T - 6 * DAY, 12), github_run(9099901, "cancelled", "main", T - 6 * DAY, 2)]
    return runs + older


def github_interactions(first_answer=None, repo_answer=None) -> list:
    base = f"{GITHUB_URL}/repos/{GITHUB_REPO}"
    runs = github_runs()
    runs_params = {"created": ">=2026-11-24", "per_page": 100}
    page_two = f"{GITHUB_URL}/repositories/{GITHUB_REPO_ID}/actions/runs?created=%3E%3D2026-11-24&per_page=100&page=2"
    link = f'<{page_two}>; rel="next", <{page_two}>; rel="last"'
    repo = {
        "id": GITHUB_REPO_ID, "full_name": GITHUB_REPO, "private": True, "archived": False, "default_branch": "main",
        "html_url": f"https://github.com/{GITHUB_REPO}", "pushed_at": iso(T - 25 * MINUTE), "open_issues_count": 14,
    }
    runners = {"total_count": 2, "runners": [
        {"id": 31, "name": "build-linux-01", "os": "Linux", "status": "online", "busy": True, "labels": [{"id": 1, "name": "self-hosted", "type": "read-only"}]},
        {"id": 32, "name": "build-linux-02", "os": "Linux", "status": "offline", "busy": False, "labels": [{"id": 1, "name": "self-hosted", "type": "read-only"}]},
    ]}
    dependabot = [
        {"number": 42, "state": "open", "created_at": iso(T - 3 * DAY), "html_url": f"https://github.com/{GITHUB_REPO}/security/dependabot/42",
         "dependency": {"package": {"ecosystem": "pip", "name": "requests"}, "manifest_path": "requirements.txt", "scope": "runtime"},
         "security_advisory": {"ghsa_id": "GHSA-xxxx-yyyy-zzzz", "summary": "Requests leaks Proxy-Authorization headers", "severity": "medium"},
         "security_vulnerability": {"severity": "medium"}},
        {"number": 43, "state": "open", "created_at": iso(T - DAY), "html_url": f"https://github.com/{GITHUB_REPO}/security/dependabot/43",
         "dependency": {"package": {"ecosystem": "npm", "name": "lodash"}, "manifest_path": "web/package-lock.json", "scope": "runtime"},
         "security_advisory": {"ghsa_id": "GHSA-aaaa-bbbb-cccc", "summary": "Prototype pollution in lodash", "severity": "critical"},
         "security_vulnerability": {"severity": "critical"}},
    ]
    scanning = [
        {"number": 7, "state": "open", "created_at": iso(T - 4 * DAY), "html_url": f"https://github.com/{GITHUB_REPO}/security/code-scanning/7",
         "rule": {"id": "py/sql-injection", "severity": "error", "security_severity_level": "high", "description": "SQL query built from user-controlled sources"},
         "tool": {"name": "CodeQL", "version": "2.20.1"},
         "most_recent_instance": {"ref": "refs/heads/main", "state": "open", "location": {"path": "app/orders.py", "start_line": 88}, "message": {"text": "This query depends on a user-provided value."}}},
        {"number": 8, "state": None, "created_at": iso(T - 2 * DAY), "html_url": f"https://github.com/{GITHUB_REPO}/security/code-scanning/8",
         "rule": {"id": "py/unused-import", "severity": "note", "security_severity_level": None, "description": "Unused import"},
         "tool": {"name": "CodeQL", "version": "2.20.1"},
         "most_recent_instance": {"ref": "refs/heads/main", "state": "open", "location": {"path": "app/util.py", "start_line": 3}, "message": {"text": "Import of 'os' is not used."}}},
    ]
    org_runners = {"total_count": 1, "runners": [{"id": 501, "name": "org-gpu-01", "os": "Linux", "status": "online", "busy": False, "labels": []}]}

    remaining = iter(range(4990, 4900, -1))
    interactions = [(get_request(base), repo_answer or first_answer or response(200, repo, extra=github_headers(next(remaining), '"3f5a9c1e"')))]
    if first_answer is not None or (repo_answer is not None and repo_answer["status"]["code"] != 404):
        return interactions
    if repo_answer is None:
        interactions += [
            (get_request(f"{base}/actions/runs", runs_params), response(200, {"total_count": len(runs), "workflow_runs": runs[:100]}, extra=github_headers(next(remaining), 'W/"91ab22"', link))),
            (get_request(page_two), response(200, {"total_count": len(runs), "workflow_runs": runs[100:]}, extra=github_headers(next(remaining), 'W/"91ab23"'))),
            (get_request(f"{base}/actions/runners", {"per_page": 100}), response(200, runners, extra=github_headers(next(remaining)))),
            (get_request(f"{base}/dependabot/alerts", {"state": "open", "per_page": 100}), response(200, dependabot, extra=github_headers(next(remaining), 'W/"d3p"'))),
            (get_request(f"{base}/code-scanning/alerts", {"state": "open", "per_page": 100}), response(200, scanning, extra=github_headers(next(remaining), 'W/"c5n"'))),
        ]
    interactions.append((get_request(f"{GITHUB_URL}/orgs/octo-org/actions/runners", {"per_page": 100}), response(200, org_runners, extra=github_headers(next(remaining)))))
    return interactions


def github_not_modified() -> None:
    """Write the run after `normal`, 15 minutes later: every request that had an ETag gets a 304."""
    later = datetime.fromtimestamp(T + 15 * MINUTE, tz=timezone.utc)
    base = f"{GITHUB_URL}/repos/{GITHUB_REPO}"
    page_two = f"{GITHUB_URL}/repositories/{GITHUB_REPO_ID}/actions/runs?created=%3E%3D2026-11-24&per_page=100&page=2"
    # `normal` ended with 4984 requests left; a 304 spends none and each 200 spends one.
    remaining = 4984

    def not_modified(etag: str):
        return response(304, "", content_type="application/json; charset=utf-8", extra=github_headers(remaining, etag), at=later)

    normal = {request["uri"]: answer for request, answer in github_interactions()}
    runners_uri = get_request(f"{base}/actions/runners", {"per_page": 100})["uri"]
    org_uri = get_request(f"{GITHUB_URL}/orgs/octo-org/actions/runners", {"per_page": 100})["uri"]
    interactions = [
        (get_request(base), not_modified('"3f5a9c1e"')),
        (get_request(f"{base}/actions/runs", {"created": ">=2026-11-24", "per_page": 100}), not_modified('W/"91ab22"')),
        (get_request(page_two), not_modified('W/"91ab23"')),
    ]
    remaining -= 1
    runners = json.loads(normal[runners_uri]["body"]["string"])
    interactions.append((get_request(f"{base}/actions/runners", {"per_page": 100}), response(200, runners, extra=github_headers(remaining), at=later)))
    interactions += [
        (get_request(f"{base}/dependabot/alerts", {"state": "open", "per_page": 100}), not_modified('W/"d3p"')),
        (get_request(f"{base}/code-scanning/alerts", {"state": "open", "per_page": 100}), not_modified('W/"c5n"')),
    ]
    remaining -= 1
    org_runners = json.loads(normal[org_uri]["body"]["string"])
    interactions.append((get_request(f"{GITHUB_URL}/orgs/octo-org/actions/runners", {"per_page": 100}), response(200, org_runners, extra=github_headers(remaining), at=later)))
    write_cassette("github", "not_modified", interactions, {"github": GITHUB_URL},
                   "the run after `normal`, 15 minutes later, replayed into the same cache: HTTP 304 to every conditional request "
                   "(repository, both pages of workflow runs, Dependabot and code-scanning alerts); runners have no ETag and answer 200",
                   recorded_at=later)


def github_cassettes() -> None:
    urls = {"github": GITHUB_URL}
    write_cassette("github", "normal", github_interactions(), urls,
                   "one repository: 102 workflow runs on two pages (a failure on main, a time-out, an older failure, one in progress), "
                   "two repository runners (one offline), one organization runner, two Dependabot and two code-scanning alerts")
    bad = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}
    write_cassette("github", "bad_key", github_interactions(first_answer=response(401, bad)), urls,
                   "the token is rejected: HTTP 401 Bad credentials")
    limited = {"message": "API rate limit exceeded for user ID 1234567.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}
    limit_headers = {**github_headers(0), "x-ratelimit-reset": str(T + 1800)}
    write_cassette("github", "rate_limit", github_interactions(first_answer=response(403, limited, extra=limit_headers)), urls,
                   "primary rate limit used up: HTTP 403 with x-ratelimit-remaining 0 and a reset 30 minutes later, so the source is deferred")
    server_error = [(get_request(f"{GITHUB_URL}/repos/{GITHUB_REPO}"), response(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")) for _ in range(3)]
    write_cassette("github", "server_error", server_error, urls, "HTTP 502 with an HTML body on all three attempts")
    missing = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository", "status": "404"}
    write_cassette("github", "unknown_repo", github_interactions(repo_answer=response(404, missing)), urls,
                   "the repository answers 404 (missing or not visible to the token); the organization runners still answer")


if __name__ == "__main__":
    uptimerobot_normal()
    uptimerobot_bad_key()
    uptimerobot_paging()
    uptimerobot_rate_limit()
    uptimerobot_error("internal_error", 200, {"type": "internal_error", "message": "An internal error occurred."},
                      "stat fail with error type internal_error and HTTP 200")
    uptimerobot_error("not_authorized", 401, {"type": "not_authorized", "parameter_name": "api_key", "passed_value": MASK, "message": "This API key is not authorized to use this method."},
                      "stat fail with error type not_authorized and HTTP 401; passed_value echoes the key")
    uptimerobot_v3_normal()
    openweather_normal()
    openweather_bad_key()
    openweather_onecall_alerts()
    openweather_not_subscribed()
    openweather_city_not_found()
    openweather_account_blocked()
    openweather_server_error()
    github_cassettes()
    github_not_modified()
