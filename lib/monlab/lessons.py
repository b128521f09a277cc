"""Calculations behind the lab notebooks: recorded payloads, polling cost and freshness per interval.

The notebooks keep their code cells short by calling these; nothing here is used by a scheduled run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

import yaml
from sqlalchemy import select

from monlab.cache import Cache, request_audit
from monlab.contract import Contract
from monlab.freshness import feed_freshness

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class RecordedExchange:
    """One request of a cassette and the JSON body of its response (None when the body is not JSON)."""

    method: str
    uri: str
    status: int
    body: Any


def recorded_exchanges(path: Path) -> list[RecordedExchange]:
    """Read a vcrpy cassette and return its requests with their decoded response bodies."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    exchanges = []
    for interaction in document.get("interactions") or []:
        response = interaction["response"]
        text = (response.get("body") or {}).get("string") or ""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        request = interaction["request"]
        exchanges.append(RecordedExchange(request["method"], request["uri"], response["status"]["code"], body))
    return exchanges


@dataclass(frozen=True)
class Quota:
    """A request limit of one API plan: at most `limit` requests in any window of `window_minutes`.

    `path_prefix` narrows the quota to the endpoints under it; responses with a status in
    `free_statuses` do not count against it.
    """

    source: str
    name: str
    limit: int
    window_minutes: int
    path_prefix: str = ""
    free_statuses: tuple[int, ...] = ()


# The published limits of the plans a learner is likely to start on. Prometheus is the team's own
# server, so it has no quota, and its cost is the load on that server.
# NOTE: vendors change their plans, so check these limits against your own plan before relying on them.
QUOTAS = (
    Quota("uptimerobot", "free plan, 10 per minute", 10, 1),
    # 5000 per hour holds for an authenticated token. A 304 response to a request with If-None-Match
    # spends no quota.
    Quota("github", "token, 5000 per hour", 5000, 60, free_statuses=(304,)),
    Quota("openweather", "free plan, 60 per minute", 60, 1),
    Quota("openweather", "One Call 3.0, 1000 free per day", 1000, MINUTES_PER_DAY, path_prefix="/data/3.0/onecall"),
)


def audited_requests(cache: Cache, run_id: str) -> list[dict[str, Any]]:
    """Return the audit trail of one run: source, path template, status and outcome of each attempt."""
    return cache.read(
        select(request_audit.c.source_system, request_audit.c.path_template, request_audit.c.status, request_audit.c.outcome)
        .where(request_audit.c.run_id == run_id)
        .order_by(request_audit.c.id)
    )


def requests_per_run(entries: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Count the requests each source sent in one run, leaving out attempts refused before sending."""
    counts: dict[str, int] = {}
    for entry in entries:
        if entry["outcome"] != "refused":
            counts[entry["source_system"]] = counts.get(entry["source_system"], 0) + 1
    return counts


def billable_per_run(quota: Quota, entries: Iterable[dict[str, Any]]) -> int:
    """Count the requests of one run that the quota charges for."""
    return sum(
        1
        for entry in entries
        if entry["source_system"] == quota.source
        and entry["outcome"] != "refused"
        and entry["path_template"].startswith(quota.path_prefix)
        and entry["status"] not in quota.free_statuses
    )


def peak_window_requests(quota: Quota, per_run: int, interval_minutes: int) -> int:
    """Return the maximum requests in any window of the quota when each poll sends per_run requests.

    A window of W minutes contains at most ceil(W / interval) polls. All requests of a poll are
    counted in one window, because a run sends them within seconds.
    """
    return math.ceil(quota.window_minutes / interval_minutes) * per_run


def _quota_use(source: str, entries: list[dict[str, Any]], interval: int, quotas: Iterable[Quota]) -> tuple[str, float]:
    """Return the tightest quota of a source at an interval, as (description, share of its limit used)."""
    tightest = ("none", 0.0)
    for quota in quotas:
        if quota.source != source:
            continue
        share = peak_window_requests(quota, billable_per_run(quota, entries), interval) / quota.limit
        if tightest[0] == "none" or share > tightest[1]:
            tightest = (quota.name, share)
    return tightest


def _stale_feeds(cache: Cache, contract: Contract, source: str, at: datetime) -> int:
    feeds = feed_freshness(cache, contract, at, (source,))
    return sum(1 for feed in feeds if feed.source_system == source and feed.stale)


def polling_plan(
    cache: Cache,
    contract: Contract,
    run_id: str,
    as_of: datetime,
    intervals: dict[str, list[int]],
    quotas: Iterable[Quota] = QUOTAS,
) -> list[dict[str, Any]]:
    """Tabulate, per source and polling interval, the requests per day, quota use and stale feeds.

    The cost comes from the audit trail of run `run_id`. Freshness comes from monlab.freshness at
    the worst moments: just before the next poll (as_of + interval) and after one failed poll
    (as_of + 2 x interval). The run must have written every feed successfully at as_of.
    """
    entries = audited_requests(cache, run_id)
    sent = requests_per_run(entries)
    quotas = tuple(quotas)
    rows = []
    for source, source_intervals in intervals.items():
        if source not in sent:
            raise ValueError(f"run {run_id} sent no request for source {source!r}; ingest it before planning its polling")
        feeds = len(contract.for_source(source))
        for interval in source_intervals:
            if interval <= 0:
                raise ValueError(f"polling interval for {source!r} must be a positive number of minutes, found {interval}")
            quota_name, share = _quota_use(source, entries, interval, quotas)
            rows.append({
                "source": source,
                "interval (min)": interval,
                "requests/day": math.ceil(MINUTES_PER_DAY / interval) * sent[source],
                "tightest quota": quota_name,
                "quota used %": round(share * 100, 1),
                "within quota": share <= 1.0,
                "stale feeds": f"{_stale_feeds(cache, contract, source, as_of + timedelta(minutes=interval))} of {feeds}",
                "stale after 1 failed poll": f"{_stale_feeds(cache, contract, source, as_of + timedelta(minutes=2 * interval))} of {feeds}",
            })
    return rows
