"""UptimeRobot API v3: monitors as nodes, open incidents as alerts, response times as metrics.

Selected by `sources.uptimerobot.api_version: 3` in the config file. v3 is JSON over GET with the
key in an `Authorization: Bearer` header, camelCase field names, and cursor paging: each page is
`{data, nextLink}`, with nextLink null on the last page. Paths are /v3/... below the same
UPTIMEROBOT_BASE_URL as v2 (https://api.uptimerobot.com). Errors are `{message, code}`, where a
validation error sends `message` as a list of strings.

NOTE: only the envelope above, the monitor `status` strings (UP, DOWN, PAUSED...) and the incident
filters started_after/started_before are documented facts here. The other field names read below
(friendlyName, url, type, interval, monitorId, startedAt, resolvedAt, reason, responseTimes) are
the camelCase form of the v2 names and are not confirmed. So the contract requires only the id,
name, status and start time, and records without the other fields are still written.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

from monlab.errors import AuthError, ResponseFormatError, SourceError
from monlab.fetch import PageGuard, decode_json
from monlab.sources import SourceContext, StreamBatch

NAME = "uptimerobot"
MONITORS_PATH = "/v3/monitors"
INCIDENTS_PATH = "/v3/incidents"
ERROR_STATUSES = frozenset({400, 401, 403, 404, 422})
DOWN_STATUS = "DOWN"
# Incident status words taken as closed, besides a resolvedAt time.
CLOSED_INCIDENT_STATUSES = ("RESOLVED", "CLOSED")
# Monitor fields that change on every check: kept out of the node record so that its payload hash
# changes only when the monitor itself changes.
TIME_SERIES_FIELDS = ("responseTimes",)
# NOTE: incidents are read with started_after this many days back, so an incident open for longer
# is not returned and its alert row is marked inactive by the complete read.
DEFAULT_INCIDENT_DAYS = 30


def error_message(body: Any) -> str:
    """Return the message of a v3 error body, joining a validation error's list of messages."""
    if not isinstance(body, dict):
        return "no error message"
    message = body.get("message")
    if isinstance(message, list):
        message = "; ".join(str(item) for item in message)
    code = body.get("code")
    text = str(message) if message else "no error message"
    return f"{text} (code {code})" if code not in (None, "") else text


def _raise_for_error(response, template: str) -> None:
    status = response.status_code
    if status < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    message = error_message(body)
    if status in (401, 403):
        raise AuthError(NAME, f"HTTP {status}: the API key was rejected: {message}; check UPTIMEROBOT_API_KEY", endpoint=template, http_status=status)
    raise SourceError(NAME, f"HTTP {status}: {message}", endpoint=template, http_status=status)


def fetch_all(context: SourceContext, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Read every page of a v3 list by following nextLink until it is null."""
    client = context.client("uptimerobot")
    guard = PageGuard(NAME, path)
    items: list[dict[str, Any]] = []
    target: str = path
    query = params
    while True:
        guard.check(target if query is None else (target, tuple(sorted(query.items()))))
        response = client.request("GET", target, params=query, ok_statuses=ERROR_STATUSES)
        _raise_for_error(response, path)
        body = decode_json(response, NAME, path)
        page = body.get("data") if isinstance(body, dict) else None
        if not isinstance(page, list):
            raise ResponseFormatError(NAME, "the body has no 'data' list", endpoint=path)
        items.extend(item for item in page if isinstance(item, dict))

        next_link = body.get("nextLink")
        if not next_link:
            return items
        if not isinstance(next_link, str):
            raise ResponseFormatError(NAME, "nextLink is neither a link nor null", endpoint=path)
        # The link carries the cursor and every filter in its own query.
        target, query = next_link, None


def iso_utc(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def node_record(monitor: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in monitor.items() if key not in TIME_SERIES_FIELDS}


def is_open(incident: dict[str, Any]) -> bool:
    status = str(incident.get("status") or "").upper()
    return not incident.get("resolvedAt") and status not in CLOSED_INCIDENT_STATUSES


def incident_summary(incident: dict[str, Any]) -> str | None:
    """Return the incident's reason as text, whether it is sent as a string or as an object."""
    reason = incident.get("reason")
    if isinstance(reason, dict):
        reason = reason.get("detail") or reason.get("message") or reason.get("code")
    return str(reason) if reason not in (None, "") else None


def open_incident_records(incidents: list[dict[str, Any]], monitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one alert record per open incident, with the monitor it belongs to.

    UptimeRobot sends no severity, so monlab derives one: critical while the monitor's status is
    DOWN, warning otherwise (an incident still open on a monitor that is up again or paused).
    """
    by_id = {str(monitor.get("id")): monitor for monitor in monitors}
    records = []
    for incident in incidents:
        if not is_open(incident):
            continue
        monitor = by_id.get(str(incident.get("monitorId")), {})
        severity = "critical" if str(monitor.get("status") or "").upper() == DOWN_STATUS else "warning"
        name = monitor.get("friendlyName") or f"monitor {incident.get('monitorId')}"
        records.append({**incident, "_resource": name, "_severity": severity, "_summary": incident_summary(incident)})
    return records


def response_time_records(monitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one record per response-time sample of the monitors that carry a responseTimes list."""
    records = []
    for monitor in monitors:
        for sample in monitor.get("responseTimes") or []:
            if not isinstance(sample, dict):
                continue
            observed = sample.get("datetime", sample.get("timestamp"))
            value = sample.get("value", sample.get("responseTime"))
            records.append({"monitor_id": monitor.get("id"), "datetime": observed, "value": value})
    return records


def collect(context: SourceContext) -> Iterator[StreamBatch]:
    days = int(context.options.get("incident_days", DEFAULT_INCIDENT_DAYS))
    window = {
        "started_after": iso_utc(context.as_of - timedelta(days=days)),
        "started_before": iso_utc(context.as_of),
    }
    monitors = fetch_all(context, MONITORS_PATH)
    incidents = fetch_all(context, INCIDENTS_PATH, window)
    yield StreamBatch("uptimerobot.v3_monitors", [node_record(monitor) for monitor in monitors])
    yield StreamBatch("uptimerobot.v3_incidents", open_incident_records(incidents, monitors))
    yield StreamBatch("uptimerobot.v3_response_times", response_time_records(monitors))
