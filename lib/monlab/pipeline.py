"""The steps of one run, called by the pipeline notebooks: open, preflight, ingest, report.

Every step reads and writes the cache, so each notebook of the pipeline can run in its own kernel.
A source that fails is recorded with its sanitized error and the other sources go on; its last
good rows stay in the cache.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from monlab import preflight, replay
from monlab.cache import Cache, WriteCounts, run_log
from monlab.config import Settings
from monlab.contract import Contract, load_contract
from monlab.errors import ConfigError, MonlabError, SourceError
from monlab.fetch import AuditTrail, GuardedClient
from monlab.policy import Policy, load_policy
from monlab.redact import register_secrets, scrub_text
from monlab.sources import SourceContext, SourceNote, StreamBatch, active_contract, load_source
from monlab.transform import apply_mapping, detect_drift

log = logging.getLogger("monlab.pipeline")


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass
class Run:
    """One run: its settings, id, frozen as-of time and the opened cache, contract and policy."""

    settings: Settings
    run_id: str
    as_of: datetime
    cache: Cache
    contract: Contract
    policy: Policy


@dataclass
class SourceOutcome:
    """The result of ingesting one source: its status, error, notes, write counts and request count."""

    source: str
    status: str
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    writes: dict[str, WriteCounts] = field(default_factory=dict)
    requests: int = 0


def open_run(settings: Settings, run_id: str | None = None) -> Run:
    """Open the cache (creating missing tables), load the contract and policy, and fix the as-of time."""
    register_secrets(settings.secret_values())
    # Without the mappings of a variant not configured (UptimeRobot's other API version), so that
    # freshness and the views do not report feeds that this configuration never writes.
    contract = active_contract(load_contract(settings.contract_path), settings)
    cache = Cache(settings.db_url, settings.db_schema)
    cache.create(contract)
    return Run(
        settings=settings,
        run_id=run_id or new_run_id(),
        as_of=replay.run_as_of(settings),
        cache=cache,
        contract=contract,
        policy=load_policy(settings.policy_path),
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


def record_preflight(run: Run) -> list[preflight.Check]:
    """Run the checklist and record it in the run log as ok or blocked."""
    audit = AuditTrail()
    checks = preflight.run_checklist(run.settings, audit=audit)
    ok = preflight.passed(checks)
    stamp = _now()
    run.cache.record_audit(run.run_id, audit.entries, stamp)
    run.cache.record_run(
        run_id=run.run_id,
        source_system="all",
        step="preflight",
        status="ok" if ok else "blocked",
        error=None if ok else preflight.blocking_reasons(checks),
        as_of_utc=run.as_of,
        started_at_utc=stamp,
        finished_at_utc=stamp,
    )
    if not ok:
        log.error("preflight failed, no cache writes in run %s: %s", run.run_id, preflight.blocking_reasons(checks))
    return checks


def preflight_block(run: Run) -> str | None:
    """Return why the run is blocked, or None; runs the checklist if this run has not yet."""
    rows = run.cache.read(
        select(run_log.c.status, run_log.c.error)
        .where(run_log.c.run_id == run.run_id, run_log.c.step == "preflight")
        .order_by(run_log.c.id.desc())
        .limit(1)
    )
    if not rows:
        checks = record_preflight(run)
        return None if preflight.passed(checks) else preflight.blocking_reasons(checks)
    return None if rows[0]["status"] == "ok" else rows[0]["error"]


def _record_drift(run: Run, source: str, batch: StreamBatch) -> None:
    """Audit the payload paths the contract does not know: one log line per path per run."""
    fields = detect_drift(run.contract, batch.stream, batch.records)
    if not fields:
        return
    new_paths = set(run.cache.record_drift(source, fields, run_id=run.run_id, seen_at=run.as_of))
    for drift in fields:
        first = "new field" if drift.path in new_paths else "field"
        log.warning(
            "%s: schema drift in %s: %s %s (%s) is not in the contract, seen in %d of %d records",
            source, batch.stream, first, drift.path, ",".join(drift.types), drift.count, len(batch.records),
        )


def _write_mapping(run: Run, outcome: SourceOutcome, mapping, batch: StreamBatch) -> None:
    started = _now()
    mapped = apply_mapping(mapping, batch.records, tuple(run.settings.secret_values()))
    try:
        counts = run.cache.write_batch(mapped, run_id=run.run_id, collected_at=run.as_of, complete=batch.complete)
    except MonlabError as exc:
        finished = _now()
        run.cache.record_run(
            run_id=run.run_id, source_system=mapping.source_system, mapping_id=mapping.id, step="write",
            status="failed", complete=batch.complete, fetched=len(batch.records), error=scrub_text(str(exc)),
            as_of_utc=run.as_of, started_at_utc=started, finished_at_utc=finished,
            duration_ms=int((finished - started).total_seconds() * 1000),
        )
        raise
    outcome.writes[mapping.id] = counts
    finished = _now()
    run.cache.record_run(
        run_id=run.run_id,
        source_system=mapping.source_system,
        mapping_id=mapping.id,
        step="write",
        status="ok" if batch.complete else "partial",
        complete=batch.complete,
        as_of_utc=run.as_of,
        started_at_utc=started,
        finished_at_utc=finished,
        duration_ms=int((finished - started).total_seconds() * 1000),
        **vars(counts),
    )
    for reject in mapped.rejects:
        log.warning("%s: rejected a record of %s (key %s): %s", mapping.source_system, mapping.id, reject.entity_key or "unknown", reject.reason)
    log.info(
        "%s: %s -> %s: %d fetched, %d inserted, %d updated, %d unchanged, %d inactivated, %d rejected",
        mapping.source_system, mapping.id, mapping.table, counts.fetched, counts.inserted, counts.updated,
        counts.unchanged, counts.inactivated, counts.rejected,
    )


def _write_stream(run: Run, outcome: SourceOutcome, batch: StreamBatch) -> None:
    mappings = run.contract.for_stream(batch.stream)
    if not mappings:
        log.warning("%s: stream %s has no mapping in the contract; %d records skipped", outcome.source, batch.stream, len(batch.records))
        return
    _record_drift(run, outcome.source, batch)
    for mapping in mappings:
        _write_mapping(run, outcome, mapping, batch)


def write_records(run: Run, source: str, stream: str, records: list, *, complete: bool = True) -> SourceOutcome:
    """Map and write records of one stream as if a source had emitted them; for drills and notebooks."""
    outcome = SourceOutcome(source=source, status="ok")
    _write_stream(run, outcome, StreamBatch(stream, records, complete=complete))
    return outcome


class ReplayClock:
    """The clock of a replayed source: wall time frozen at its recording, and sleeps that only count.

    Rate-limit reset headers in a cassette are epoch times from the recording, so waits are computed
    against that moment. Nothing is really slept, because no server is waiting.
    """

    def __init__(self, recorded_at: datetime):
        self._recorded = recorded_at.timestamp()
        self._slept = 0.0

    def time(self) -> float:
        return self._recorded + self._slept

    def monotonic(self) -> float:
        return time.monotonic() + self._slept

    def sleep(self, seconds: float) -> None:
        self._slept += max(0.0, seconds)


def _client_clock(run: Run, source: str) -> ReplayClock | None:
    if run.settings.mode != "replay":
        return None
    return ReplayClock(replay.request_clock(run.settings, source, run.as_of))


def _clients(run: Run, module, audit: AuditTrail) -> dict[str, GuardedClient]:
    urls = replay.base_urls(run.settings, module.NAME)
    policy = run.policy.for_source(module.NAME)
    headers_for = getattr(module, "headers", None)
    headers = headers_for(run.settings) if headers_for else None
    return {
        service: GuardedClient(policy, service, urls[service], headers=headers, audit=audit, clock=_client_clock(run, module.NAME))
        for service in module.SERVICES
    }


def ingest_source(run: Run, source: str) -> SourceOutcome:
    """Fetch one source, map its records and write them; a MonlabError becomes a failed outcome, not an exception."""
    blocked = preflight_block(run)
    if blocked:
        return _record_blocked(run, [source], blocked)[0]
    outcome = SourceOutcome(source=source, status="ok")
    started = _now()
    audit = AuditTrail()
    try:
        module = load_source(source)
        context = SourceContext(
            settings=run.settings, clients=_clients(run, module, audit), as_of=replay.request_clock(run.settings, source, run.as_of),
            options=run.settings.options(source), cache=run.cache,
        )
        with replay.cassette(run.settings, source, module.SERVICES, run.as_of):
            for item in module.collect(context):
                if isinstance(item, SourceNote):
                    outcome.notes.append(scrub_text(item.message))
                    if item.status == "partial":
                        outcome.status = "partial"
                    continue
                _write_stream(run, outcome, item)
    except SourceError as exc:
        outcome.status = exc.status
        outcome.error = scrub_text(str(exc))
    except (ConfigError, MonlabError) as exc:
        outcome.status = "failed"
        outcome.error = scrub_text(str(exc))

    if outcome.error:
        log.error("%s: %s; the cache keeps its last good rows", source, outcome.error)
    outcome.requests = len(audit.entries)
    finished = _now()
    run.cache.record_audit(run.run_id, audit.entries, finished)
    run.cache.record_run(
        run_id=run.run_id,
        source_system=source,
        step="fetch",
        status=outcome.status,
        complete=outcome.status == "ok",
        error="; ".join(filter(None, [outcome.error, *outcome.notes])) or None,
        fetched=sum(counts.fetched for counts in outcome.writes.values()),
        rejected=sum(counts.rejected for counts in outcome.writes.values()),
        as_of_utc=run.as_of,
        started_at_utc=started,
        finished_at_utc=finished,
        duration_ms=int((finished - started).total_seconds() * 1000),
    )
    return outcome


def _record_blocked(run: Run, sources: list[str], reasons: str) -> list[SourceOutcome]:
    stamp = _now()
    for source in sources:
        run.cache.record_run(
            run_id=run.run_id, source_system=source, step="fetch", status="blocked",
            error=f"preflight failed: {reasons}", as_of_utc=run.as_of, started_at_utc=stamp, finished_at_utc=stamp,
        )
    return [SourceOutcome(source=source, status="blocked", error=f"preflight failed: {reasons}") for source in sources]


def ingest(run: Run, role: str) -> list[SourceOutcome]:
    """Ingest every selected source of one role ("monitoring" or "performance")."""
    selected = [source for source in run.settings.sources if load_source(source).ROLE == role]
    blocked = preflight_block(run)
    if blocked:
        return _record_blocked(run, selected, blocked)
    outcomes = []
    for source in selected:
        clock = time.monotonic()
        outcomes.append(ingest_source(run, source))
        log.info("%s: ingest finished with status %s in %.2f s", source, outcomes[-1].status, time.monotonic() - clock)
    return outcomes


def check_ingestion(run: Run, outcomes: list[SourceOutcome]) -> list[str]:
    """Check each outcome against the run log and return one line per source, for a mastery check.

    Raises AssertionError when the run log disagrees with an outcome, or when a source that was read
    wrote no mapping at all. A failed, deferred or blocked source is reported, not raised: the run
    goes on and the report shows it.
    """
    logged = {
        row["source_system"]: row["status"]
        for row in run.cache.read(
            select(run_log.c.source_system, run_log.c.status).where(run_log.c.run_id == run.run_id, run_log.c.step == "fetch")
        )
    }
    if not outcomes:
        return ["no source of this kind was selected in this run, so there is nothing to ingest"]
    lines = []
    for outcome in outcomes:
        if logged.get(outcome.source) != outcome.status:
            raise AssertionError(f"{outcome.source}: the run log says {logged.get(outcome.source)!r} but the outcome is {outcome.status!r}")
        if outcome.status in ("ok", "partial"):
            if not outcome.writes:
                raise AssertionError(f"{outcome.source}: read with status {outcome.status} but no mapping was written")
            fetched = sum(counts.fetched for counts in outcome.writes.values())
            lines.append(f"{outcome.source}: {outcome.status}, {fetched} records through {len(outcome.writes)} mappings")
        else:
            lines.append(f"{outcome.source}: {outcome.status}: {outcome.error}; the cache keeps its last good rows")
    return lines


def outcome_rows(outcomes: list[SourceOutcome]) -> list[dict]:
    """Return one row per (source, mapping) write, for a notebook table; no timings, so it is stable."""
    rows = []
    for outcome in outcomes:
        if not outcome.writes:
            rows.append({"source": outcome.source, "mapping": "-", "status": outcome.status, "fetched": 0, "inserted": 0, "updated": 0, "unchanged": 0, "inactivated": 0, "rejected": 0, "error": outcome.error or ""})
        for mapping_id, counts in outcome.writes.items():
            rows.append({
                "source": outcome.source, "mapping": mapping_id, "status": outcome.status, "fetched": counts.fetched,
                "inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged,
                "inactivated": counts.inactivated, "rejected": counts.rejected, "error": outcome.error or "",
            })
    return rows
