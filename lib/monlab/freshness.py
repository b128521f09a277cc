"""Freshness: the last successful collection of each (source, mapping) against its contract cadence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from monlab.cache import Cache, run_log
from monlab.contract import Contract

# A feed is stale once its last good collection is older than this many cadences.
GRACE_FACTOR = 2.0


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


def feed_freshness(cache: Cache, contract: Contract, as_of: datetime, sources: tuple[str, ...]) -> list[Freshness]:
    """Return the freshness of every mapping of the given sources and of any source in the cache."""
    statement = (
        select(run_log.c.source_system, run_log.c.mapping_id, func.max(run_log.c.as_of_utc).label("last_success"))
        .where(run_log.c.step == "write", run_log.c.status == "ok", run_log.c.as_of_utc <= as_of)
        .group_by(run_log.c.source_system, run_log.c.mapping_id)
    )
    last_success = {(row["source_system"], row["mapping_id"]): row["last_success"] for row in cache.read(statement)}
    cached_sources = {source for source, _ in last_success}

    feeds = []
    for mapping in contract.mappings:
        if mapping.source_system not in sources and mapping.source_system not in cached_sources:
            continue
        last = last_success.get((mapping.source_system, mapping.id))
        limit = mapping.cadence_minutes * GRACE_FACTOR
        if last is None:
            feeds.append(Freshness(mapping.source_system, mapping.id, mapping.table, mapping.cadence_minutes, None, None, True, "never collected successfully"))
            continue
        age = (as_of - last).total_seconds() / 60.0
        stale = age > limit
        reason = (
            f"last good collection {age:.0f} min ago, more than {limit:.0f} min ({GRACE_FACTOR:g} x cadence)"
            if stale
            else f"collected {age:.0f} min ago, within {limit:.0f} min"
        )
        feeds.append(Freshness(mapping.source_system, mapping.id, mapping.table, mapping.cadence_minutes, last, round(age, 1), stale, reason))
    return feeds
