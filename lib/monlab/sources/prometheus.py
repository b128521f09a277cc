"""Prometheus and Alertmanager: scrape targets as nodes and instances, alerts, and instant queries as metrics.

The source has two services: "prometheus" (PROMETHEUS_URL) for /api/v1/targets and /api/v1/query,
and "alertmanager" (ALERTMANAGER_URL) for /api/v2/alerts. Neither needs a credential. Each of the
three reads is self-contained: when one fails the others are still written, and the source reports
"partial"; when all fail the first error fails the source.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from monlab.errors import AuthError, ConfigError, ResponseFormatError, SourceError, SourceUnavailable
from monlab.fetch import decode_json
from monlab.sources import SourceContext, SourceNote, StreamBatch

NAME = "prometheus"
ROLE = "monitoring"
SERVICES = ("prometheus", "alertmanager")

TARGETS_PATH = "/api/v1/targets"
QUERY_PATH = "/api/v1/query"
ALERTS_PATH = "/api/v2/alerts"

# Prometheus returns an API error in an envelope and one of these statuses (errorType in
# brackets): 400 bad_data, 404 not_found, 422 execution, 500 internal, 503 timeout or canceled.
# Reading them here, and not in the guarded client, keeps errorType in the message.
ENVELOPE_ERROR_STATUSES = frozenset({400, 404, 422})
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _envelope_data(response, template: str) -> Any:
    """Return `data` of a Prometheus API envelope, or raise naming errorType and the error text."""
    body = decode_json(response, NAME, template)
    if not isinstance(body, dict) or "status" not in body:
        raise ResponseFormatError(NAME, "expected a Prometheus API envelope with 'status'", endpoint=template)
    if body["status"] != "success":
        kind = body.get("errorType") or "unknown"
        raise SourceError(
            NAME, f"the API returned status {body['status']!r}, errorType {kind}: {body.get('error') or 'no error text'}",
            endpoint=template, http_status=response.status_code,
        )
    return body.get("data")


def _get_envelope(context: SourceContext, path: str, params: dict[str, Any]) -> Any:
    client = context.client("prometheus")
    try:
        response = client.request("GET", path, params=params, ok_statuses=ENVELOPE_ERROR_STATUSES)
    except SourceUnavailable as exc:
        if exc.http_status != 503:
            raise
        raise SourceUnavailable(
            NAME,
            "HTTP 503 on every attempt: Prometheus answers 503 while it is still starting, or when a "
            "query timed out; check /-/ready and retry later",
            endpoint=path, http_status=503,
        ) from None
    return _envelope_data(response, path)


def parse_duration(text: Any) -> float | None:
    """Parse a Prometheus duration such as "15s" or "1m30s" into seconds; None if it is not one."""
    if not isinstance(text, str) or not text:
        return None
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _DURATION_SECONDS[unit] for number, unit in parts)


def target_key(labels: dict[str, Any]) -> str:
    """Return "job/instance", the key that targets, instances and metrics of one target share."""
    return f"{labels.get('job', '')}/{labels.get('instance', '')}"


def fetch_targets(context: SourceContext) -> list[dict[str, Any]]:
    data = _get_envelope(context, TARGETS_PATH, {"state": "active"})
    targets = data.get("activeTargets") if isinstance(data, dict) else None
    if not isinstance(targets, list):
        raise ResponseFormatError(NAME, "the data has no 'activeTargets' list", endpoint=TARGETS_PATH)
    records = []
    for target in targets:
        if not isinstance(target, dict):
            continue
        labels = target.get("labels") if isinstance(target.get("labels"), dict) else {}
        records.append({**target, "_key": target_key(labels), "_interval_s": parse_duration(target.get("scrapeInterval"))})
    return records


def fetch_alerts(context: SourceContext) -> list[dict[str, Any]]:
    # silenced and inhibited alerts are included on purpose: they are shown with state "suppressed".
    params = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
    response = context.client("alertmanager").request("GET", ALERTS_PATH, params=params)
    body = decode_json(response, NAME, ALERTS_PATH)
    if not isinstance(body, list):
        raise ResponseFormatError(NAME, "expected a JSON array of alerts from Alertmanager", endpoint=ALERTS_PATH)
    return [alert for alert in body if isinstance(alert, dict)]


def configured_queries(context: SourceContext) -> list[dict[str, str]]:
    queries = context.options.get("queries") or []
    checked = []
    for index, query in enumerate(queries):
        if not isinstance(query, dict) or not {"name", "query"} <= set(query):
            raise ConfigError(f"sources.prometheus.queries[{index}]: each query needs name and query (PromQL)")
        checked.append({"name": str(query["name"]), "query": str(query["query"]), "unit": str(query.get("unit") or "")})
    return checked


def series_key(labels: dict[str, Any]) -> str:
    """Return the entity key of one series: job/instance, then any other labels, sorted."""
    extra = {name: value for name, value in labels.items() if name not in ("__name__", "job", "instance")}
    key = target_key(labels) if "job" in labels or "instance" in labels else "-"
    if extra:
        key += "{" + ",".join(f'{name}="{extra[name]}"' for name in sorted(extra)) + "}"
    return key


def query_records(query: dict[str, str], data: Any) -> list[dict[str, Any]]:
    """Turn the data of one instant query (vector or scalar) into one record per sample."""
    if not isinstance(data, dict):
        raise ResponseFormatError(NAME, f"query {query['name']}: the data is not an object", endpoint=QUERY_PATH)
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        samples = [{"metric": {}, "value": result}]
    elif kind == "vector" and isinstance(result, list):
        samples = result
    else:
        raise ResponseFormatError(NAME, f"query {query['name']}: expected a vector or scalar result, got {kind!r}", endpoint=QUERY_PATH)

    records = []
    for sample in samples:
        value = sample.get("value") if isinstance(sample, dict) else None
        if not isinstance(value, list) or len(value) != 2:
            continue
        labels = sample.get("metric") if isinstance(sample.get("metric"), dict) else {}
        records.append(
            {"name": query["name"], "unit": query["unit"], "labels": labels, "_key": series_key(labels),
             "timestamp": value[0], "value": value[1]}
        )
    return records


def fetch_query_metrics(context: SourceContext) -> Iterator[SourceNote | list[dict[str, Any]]]:
    """Run every configured query at the run's as-of time; a failing query becomes a note.

    When every query fails, the first error is raised instead, so the read counts as failed.
    """
    records = []
    queries = configured_queries(context)
    failures = []
    for query in queries:
        params = {"query": query["query"], "time": f"{context.as_of.timestamp():.3f}"}
        try:
            records.extend(query_records(query, _get_envelope(context, QUERY_PATH, params)))
        except (AuthError, SourceUnavailable):
            raise
        except SourceError as exc:
            failures.append(exc)
            yield SourceNote("partial", f"query {query['name']}: {exc}")
    if queries and len(failures) == len(queries):
        raise failures[0]
    yield records


def _read(read: Callable[[], Any], failures: list[SourceError]) -> Any:
    try:
        return read()
    except SourceError as exc:
        failures.append(exc)
        return None


def collect(context: SourceContext) -> Iterator[StreamBatch | SourceNote]:
    failures: list[SourceError] = []
    targets = _read(lambda: fetch_targets(context), failures)
    alerts = _read(lambda: fetch_alerts(context), failures)
    metrics = _read(lambda: list(fetch_query_metrics(context)), failures)

    if len(failures) == 3:
        raise failures[0]
    for failure in failures:
        yield SourceNote("partial", str(failure))

    if targets is not None:
        yield StreamBatch("prometheus.targets", targets)
    if alerts is not None:
        yield StreamBatch("prometheus.alerts", alerts)
    if metrics is not None:
        *notes, records = metrics
        yield from notes
        yield StreamBatch("prometheus.queries", records)
