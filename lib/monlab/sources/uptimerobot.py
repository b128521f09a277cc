"""UptimeRobot API v2: monitors as nodes, open down events as alerts, response times and uptime as metrics.

Every v2 call is a form-encoded POST carrying api_key in the body, so the read-only rule is the
allowlist of methods in data/api_policy.yml, not "GET only". A read-only key is enough.
`sources.uptimerobot.api_version: 3` reads API v3 instead (monlab.sources.uptimerobot_v3).
"""

from __future__ import annotations

from typing import Any, Iterator

from monlab.config import Settings
from monlab.errors import AuthError, ConfigError, ResponseFormatError, SourceError
from monlab.fetch import PageGuard, decode_json, describe_error_body
from monlab.sources import SourceContext, StreamBatch, uptimerobot_v3

NAME = "uptimerobot"
ROLE = "monitoring"
SERVICES = ("uptimerobot",)

API_VERSIONS = (2, 3)
CLIENT_ERROR_STATUSES = frozenset({400, 401, 403, 404})
PAGE_LIMIT = 50  # the largest page getMonitors accepts
MONITORS_PATH = "/v2/getMonitors"
LOG_TYPE_DOWN = 1
DOWN_STATUSES = (8, 9)  # 8 "seems down", 9 "down"
# Monitor fields that change on every check: kept out of the node record so that its payload hash
# changes only when the monitor itself changes.
TIME_SERIES_FIELDS = ("logs", "response_times", "average_response_time", "custom_uptime_ratio")


def api_version(options: dict[str, Any]) -> int:
    """Return the configured API version (sources.uptimerobot.api_version), 2 by default."""
    version = options.get("api_version", 2)
    if isinstance(version, bool) or version not in API_VERSIONS:
        raise ConfigError(f"sources.uptimerobot.api_version: expected 2 or 3, found {version!r}")
    return version


def idle_streams(options: dict[str, Any]) -> set[str]:
    """Return the streams of the API version that is not configured."""
    v3_streams = {"uptimerobot.v3_monitors", "uptimerobot.v3_incidents", "uptimerobot.v3_response_times"}
    v2_streams = {"uptimerobot.monitors", "uptimerobot.down_events", "uptimerobot.response_times", "uptimerobot.uptime_ratios"}
    return v2_streams if api_version(options) == 3 else v3_streams


def headers(settings: Settings) -> dict[str, str]:
    """Return the headers of every request: v3 sends the key as a Bearer token, v2 in the form body."""
    key = settings.credential(NAME).reveal()
    if api_version(settings.options(NAME)) == 3 and key:
        return {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    return {}


def _raise_for_fail(body: dict[str, Any]) -> None:
    """Raise for a stat "fail" body, whatever HTTP status came with it; never echo passed_value."""
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    kind = str(error.get("type", "unknown"))
    parameter = error.get("parameter_name")
    message = str(error.get("message", "no message"))
    if kind == "not_authorized" or (kind == "invalid_parameter" and parameter == "api_key"):
        raise AuthError(NAME, f"the API key was rejected ({kind}): check UPTIMEROBOT_API_KEY", endpoint=MONITORS_PATH)
    where = f" (parameter {parameter})" if parameter else ""
    raise SourceError(NAME, f"getMonitors failed: {kind}{where}: {message}", endpoint=MONITORS_PATH)


def _decode(response) -> Any:
    """Return the JSON body; a 4xx without a stat "fail" body raises by its HTTP status."""
    try:
        body = decode_json(response, NAME, MONITORS_PATH)
    except ResponseFormatError:
        if response.status_code < 400:
            raise
        body = None
    if response.status_code >= 400 and not (isinstance(body, dict) and body.get("stat") == "fail"):
        error = AuthError if response.status_code in (401, 403) else SourceError
        raise error(NAME, f"HTTP {response.status_code}: {describe_error_body(response)}", endpoint=MONITORS_PATH, http_status=response.status_code)
    return body


def monitors_form(api_key: str, periods: list[int], offset: int) -> dict[str, str]:
    """Return the form body of one getMonitors page."""
    return {
        "api_key": api_key,
        "format": "json",
        "logs": "1",
        "logs_limit": "10",
        "response_times": "1",
        "response_times_limit": "24",
        "custom_uptime_ratios": "-".join(str(days) for days in periods),
        "offset": str(offset),
        "limit": str(PAGE_LIMIT),
    }


def fetch_monitors(context: SourceContext) -> list[dict[str, Any]]:
    """Read every page of getMonitors, with logs, response times and 1/7/30-day uptime ratios."""
    client = context.client("uptimerobot")
    periods = context.options.get("uptime_ratio_days", [1, 7, 30])
    monitors: list[dict[str, Any]] = []
    guard = PageGuard(NAME, MONITORS_PATH)
    offset = 0
    while True:
        guard.check(offset)
        form = monitors_form(context.credential(NAME) or "replay-placeholder", periods, offset)
        # 4xx responses are read here: a stat "fail" body explains the error whatever the HTTP status.
        response = client.request("POST", MONITORS_PATH, data=form, ok_statuses=CLIENT_ERROR_STATUSES)
        body = _decode(response)
        if not isinstance(body, dict):
            raise ResponseFormatError(NAME, "expected a JSON object", endpoint=MONITORS_PATH)
        if body.get("stat") != "ok":
            _raise_for_fail(body)
        page = body.get("monitors")
        if not isinstance(page, list):
            raise ResponseFormatError(NAME, "the body has no 'monitors' list", endpoint=MONITORS_PATH)
        monitors.extend(page)

        pagination = body.get("pagination") or {}
        total = pagination.get("total")
        if not isinstance(total, int) or not page or offset + len(page) >= total:
            return monitors
        offset += len(page)


def node_record(monitor: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in monitor.items() if key not in TIME_SERIES_FIELDS}


def latest_log(monitor: dict[str, Any]) -> dict[str, Any] | None:
    logs = [entry for entry in monitor.get("logs") or [] if isinstance(entry, dict)]
    if not logs:
        return None
    return max(logs, key=lambda entry: entry.get("datetime") or 0)


def open_down_events(monitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one alert record per monitor that is down now and whose latest log is a down event."""
    events = []
    for monitor in monitors:
        log = latest_log(monitor)
        if monitor.get("status") in DOWN_STATUSES and log is not None and log.get("type") == LOG_TYPE_DOWN:
            events.append({"monitor": node_record(monitor), "log": log})
    return events


def response_time_records(monitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"monitor_id": monitor.get("id"), **sample}
        for monitor in monitors
        for sample in monitor.get("response_times") or []
        if isinstance(sample, dict)
    ]


def uptime_ratio_records(monitors: list[dict[str, Any]], periods: list[int], observed_at: str) -> list[dict[str, Any]]:
    """Split the dash-joined custom_uptime_ratio string into one record per period."""
    records = []
    for monitor in monitors:
        ratios = str(monitor.get("custom_uptime_ratio") or "")
        if not ratios:
            continue
        for days, ratio in zip(periods, ratios.split("-")):
            records.append(
                {"monitor_id": monitor.get("id"), "period_days": days, "ratio": ratio, "observed_at": observed_at}
            )
    return records


def collect(context: SourceContext) -> Iterator[StreamBatch]:
    if api_version(context.options) == 3:
        yield from uptimerobot_v3.collect(context)
        return
    monitors = fetch_monitors(context)
    periods = context.options.get("uptime_ratio_days", [1, 7, 30])
    yield StreamBatch("uptimerobot.monitors", [node_record(monitor) for monitor in monitors])
    yield StreamBatch("uptimerobot.down_events", open_down_events(monitors))
    yield StreamBatch("uptimerobot.response_times", response_time_records(monitors))
    yield StreamBatch("uptimerobot.uptime_ratios", uptime_ratio_records(monitors, periods, context.as_of.isoformat()))
