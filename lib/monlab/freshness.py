"""Freshness: the last successful collection of each (source, mapping) against its contract cadence.

A feed is stale once its last good write is older than its cadence times the contract's grace
factor, or when it never had one. When the source's latest fetch failed, the feed keeps its last
good rows and the sanitized reason of the failure goes with the stale mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from monlab.cache import Cache, run_log
from monlab.contract import Contract
from monlab.redact import scrub_text


@dataclass(frozen=True)
class Freshness:
    """The freshness of one (source, mapping) feed at the report's as-of time."""

    source_system: str
    mapping_id: str
    table: str
    cadence_minutes: int
    last_success_utc: datetime | None
    age_minutes: float | None
    stale: bool
    reason: str
    entity: str = ""
    last_error: str | None = None


def _last_successes(cache: Cache, as_of: datetime) -> dict[tuple[str, str], datetime]:
    statement = (
        select(run_log.c.source_system, run_log.c.mapping_id, func.max(run_log.c.as_of_utc).label("last_success"))
        .where(run_log.c.step == "write", run_log.c.status == "ok", run_log.c.as_of_utc <= as_of)
        .group_by(run_log.c.source_system, run_log.c.mapping_id)
    )
    return {(row["source_system"], row["mapping_id"]): row["last_success"] for row in cache.read(statement)}


def _latest_failures(cache: Cache, as_of: datetime) -> dict[str, tuple[datetime, str]]:
    """Return, per source, the as-of time and error of its latest fetch when that fetch did not succeed."""
    rows = cache.read(
        select(run_log.c.source_system, run_log.c.status, run_log.c.error, run_log.c.as_of_utc)
        .where(run_log.c.step == "fetch", run_log.c.as_of_utc <= as_of)
        .order_by(run_log.c.as_of_utc, run_log.c.id)
    )
    latest = {row["source_system"]: row for row in rows}
    return {
        source: (row["as_of_utc"], scrub_text(row["error"] or row["status"]))
        for source, row in latest.items()
        if row["status"] != "ok"
    }


def _judge(mapping, last: datetime | None, failure, as_of: datetime, grace_factor: float) -> Freshness:
    limit = mapping.cadence_minutes * grace_factor
    error = failure[1] if failure and (last is None or failure[0] >= last) else None
    failed = f"; the latest fetch failed: {error}" if error else ""
    if last is None:
        return Freshness(mapping.source_system, mapping.id, mapping.table, mapping.cadence_minutes, None, None, True,
                         f"never collected successfully{failed}", mapping.entity, error)
    age = (as_of - last).total_seconds() / 60.0
    stale = age > limit or error is not None
    if age > limit:
        reason = f"last good collection {age:.0f} min ago, more than {limit:.0f} min ({grace_factor:g} x cadence){failed}"
    elif error:
        reason = f"collected {age:.0f} min ago, but the latest fetch failed: {error}"
    else:
        reason = f"collected {age:.0f} min ago, within {limit:.0f} min"
    return Freshness(mapping.source_system, mapping.id, mapping.table, mapping.cadence_minutes, last, round(age, 1),
                     stale, reason, mapping.entity, error)


def feed_freshness(cache: Cache, contract: Contract, as_of: datetime, sources: tuple[str, ...]) -> list[Freshness]:
    """Return the freshness of every mapping of the given sources and of any source in the cache."""
    last_success = _last_successes(cache, as_of)
    failures = _latest_failures(cache, as_of)
    cached_sources = {source for source, _ in last_success}

    feeds = []
    for mapping in contract.mappings:
        if mapping.source_system not in sources and mapping.source_system not in cached_sources:
            continue
        last = last_success.get((mapping.source_system, mapping.id))
        feeds.append(_judge(mapping, last, failures.get(mapping.source_system), as_of, contract.grace_factor))
    return feeds


def stale_feeds(cache: Cache, contract: Contract, as_of: datetime, sources: tuple[str, ...]) -> list[Freshness]:
    """Return only the stale feeds, for the report's stale data warnings."""
    return [feed for feed in feed_freshness(cache, contract, as_of, sources) if feed.stale]
