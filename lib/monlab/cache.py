"""The shared cache: writes for SQLite (embedded) and PostgreSQL (shared); the tables are in monlab.tables.

Snapshot tables (alerts, nodes, instances) key on (source_system, entity_key). A complete fetch
upserts what it saw and marks the rest of its mapping inactive; a partial fetch marks nothing.
Metrics key on (source_system, entity_key, metric_name, observed_at_utc) and are only inserted.
Each (source, mapping) batch, with its rejects, is written in one transaction. Beside the cache
tables: the run log, the rejects, the schema-drift audit and the request audit; views for
dashboards are in monlab.views.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Table, create_engine, event, insert, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from monlab.errors import CacheError
from monlab.redact import scrub_text
from monlab.tables import (  # noqa: F401  (re-exported: callers import the tables from monlab.cache)
    ALL_CACHE_TABLES,
    SNAPSHOT_TABLES,
    UTCDateTime,
    alerts,
    column_lengths,
    instances,
    metadata,
    metrics,
    nodes,
    rejects,
    request_audit,
    run_log,
    schema_drift,
    typed_columns,
)
from monlab.transform import DriftField, MappedBatch, canonical_json

log = logging.getLogger("monlab.cache")


def safe_url(url: str) -> str:
    """Return a database URL fit for messages: the password masked, whatever the URL's shape."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return scrub_text(url)


# Switching a new file to WAL needs an exclusive lock, and SQLite can return "database is locked"
# for it at once, without waiting on busy_timeout, when another process opens the file at the
# same moment. So the switch is retried for up to this many seconds.
WAL_SWITCH_WAIT_S = 30.0


def _switch_to_wal(cursor) -> None:
    deadline = time.monotonic() + WAL_SWITCH_WAIT_S
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below start transactions, so they can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        _switch_to_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of
        # failing when both try to upgrade a read lock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class WriteCounts:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    inactivated: int = 0
    rejected: int = 0
    duplicates: int = 0


class Cache:
    """The cache database of one run."""

    def __init__(self, url: str, schema: str | None = None):
        self.url = url
        self.schema = schema
        try:
            engine = create_engine(url)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise CacheError(
                f"invalid database URL {safe_url(url)!r}: {scrub_text(str(exc))}; expected a SQLAlchemy URL such as "
                "sqlite:///data/monlab.sqlite or postgresql+psycopg://HOST/DATABASE"
            ) from None
        except ImportError as exc:
            raise CacheError(
                f"no installed driver for database URL {safe_url(url)!r} ({exc.name or exc}); "
                "monlab ships drivers for sqlite:/// and postgresql+psycopg:// URLs"
            ) from None
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        if schema and engine.dialect.name != "sqlite":
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def qualified(self, name: str) -> str:
        """Return a table or view name for raw SQL, in the configured schema on PostgreSQL."""
        if self.schema and self.dialect == "postgresql":
            return f'"{self.schema}"."{name}"'
        return f'"{name}"'

    def create(self, contract=None) -> None:
        """Create the schema, every table that does not exist yet, and the dashboard views.

        With a contract, the feed freshness view also carries each mapping's cadence.
        """
        from monlab.views import create_views

        try:
            with self.engine.begin() as connection:
                if self.dialect == "postgresql":
                    # Two runs starting at once would race on CREATE TABLE and the views.
                    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('monlab.cache.create'))"))
                    if self.schema:
                        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                metadata.create_all(connection)
                create_views(self, connection, contract)
        except SQLAlchemyError as exc:
            raise CacheError(f"cannot open the cache at {safe_url(self.url)}: {_short_db_error(exc)}") from None

    def _insert(self, table: Table):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            raise CacheError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        return dialect_insert(table)

    def write_batch(self, batch: MappedBatch, *, run_id: str, collected_at: datetime, complete: bool) -> WriteCounts:
        """Write one mapping's rows and rejects in one transaction and return the counts."""
        mapping = batch.mapping
        counts = WriteCounts(fetched=len(batch.rows) + len(batch.rejects), rejected=len(batch.rejects), duplicates=batch.duplicates)
        try:
            with self.engine.begin() as connection:
                if mapping.is_metric:
                    self._write_metrics(connection, batch, run_id, collected_at, counts)
                else:
                    self._write_snapshot(connection, batch, run_id, collected_at, complete, counts)
                self._write_rejects(connection, batch, run_id, collected_at)
        except SQLAlchemyError as exc:
            raise CacheError(f"writing {mapping.id} to {mapping.table} failed: {_short_db_error(exc)}") from None
        return counts

    def _write_snapshot(self, connection, batch, run_id, collected_at, complete, counts) -> None:
        mapping = batch.mapping
        table = SNAPSHOT_TABLES[mapping.table]
        # A key twice in one statement breaks ON CONFLICT DO UPDATE on PostgreSQL: the later row wins.
        rows = list({row.entity_key: row for row in batch.rows}.values())
        keys = [row.entity_key for row in rows]
        existing = {}
        for chunk in _chunks(keys, 500):
            result = connection.execute(
                select(table.c.entity_key, table.c.payload_hash, table.c.is_active, table.c.first_seen_utc).where(
                    table.c.source_system == mapping.source_system, table.c.entity_key.in_(chunk)
                )
            )
            existing.update({found.entity_key: found for found in result})

        changed_rows, unchanged_keys = [], []
        for row in rows:
            previous = existing.get(row.entity_key)
            if previous is not None and previous.payload_hash == row.payload_hash and previous.is_active:
                unchanged_keys.append(row.entity_key)
                continue
            if previous is None:
                counts.inserted += 1
            else:
                counts.updated += 1
            changed_rows.append(
                {
                    **row.values,
                    "source_system": mapping.source_system,
                    "entity_key": row.entity_key,
                    "mapping_id": mapping.id,
                    "collected_at_utc": collected_at,
                    "payload_hash": row.payload_hash,
                    "is_active": True,
                    "first_seen_utc": previous.first_seen_utc if previous is not None else collected_at,
                    "changed_at_utc": collected_at,
                    "inactive_since_utc": None,
                    "run_id": run_id,
                    "payload_json": canonical_json(row.payload),
                }
            )

        if changed_rows:
            statement = self._insert(table)
            kept = {"source_system", "entity_key", "first_seen_utc"}
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.source_system, table.c.entity_key],
                set_={name: statement.excluded[name] for name in changed_rows[0] if name not in kept},
            )
            connection.execute(statement, changed_rows)

        if unchanged_keys:
            for chunk in _chunks(unchanged_keys, 500):
                connection.execute(
                    update(table)
                    .where(table.c.source_system == mapping.source_system, table.c.entity_key.in_(chunk))
                    .values(collected_at_utc=collected_at, run_id=run_id)
                )
            counts.unchanged = len(unchanged_keys)

        # A rejected record is still there at the source: its old row stays active. A reject without a
        # key could be any row, so then nothing is marked inactive, as after a partial fetch.
        keyless_reject = any(reject.entity_key is None for reject in batch.rejects)
        if complete and not keyless_reject:
            seen = set(keys) | {reject.entity_key for reject in batch.rejects}
            counts.inactivated = self._inactivate_unseen(connection, table, mapping, seen, collected_at, run_id)

    def _inactivate_unseen(self, connection, table, mapping, seen: set[str], collected_at, run_id) -> int:
        """Mark inactive the active rows of this mapping that the complete fetch did not return.

        Only rows last written by the same mapping are touched, so two mappings of one source that
        share a table (for example open and resolved alerts) never inactivate each other's rows.
        """
        active = connection.execute(
            select(table.c.entity_key).where(
                table.c.source_system == mapping.source_system,
                table.c.mapping_id == mapping.id,
                table.c.is_active.is_(True),
            )
        ).scalars()
        gone = [key for key in active if key not in seen]
        for chunk in _chunks(gone, 500):
            connection.execute(
                update(table)
                .where(
                    table.c.source_system == mapping.source_system,
                    table.c.mapping_id == mapping.id,
                    table.c.entity_key.in_(chunk),
                )
                .values(is_active=False, inactive_since_utc=collected_at, run_id=run_id)
            )
        return len(gone)

    def _write_metrics(self, connection, batch, run_id, collected_at, counts) -> None:
        mapping = batch.mapping
        rows = []
        for row in batch.rows:
            value = row.values["value"]
            finite = value is not None and math.isfinite(value)
            rows.append(
                {
                    **row.values,
                    "value": value if finite else None,
                    "value_text": None if finite or value is None else _special_text(value),
                    "source_system": mapping.source_system,
                    "entity_key": row.entity_key,
                    "mapping_id": mapping.id,
                    "collected_at_utc": collected_at,
                    "payload_hash": row.payload_hash,
                    "run_id": run_id,
                }
            )
        if not rows:
            return
        # ON CONFLICT DO NOTHING ... RETURNING returns only the rows it inserted, so re-reading a
        # window counts as unchanged without reading the table first, and two writers cannot both
        # count one sample as new.
        rows = list({_metric_key(row): row for row in rows}.values())
        statement = (
            self._insert(metrics)
            .on_conflict_do_nothing(index_elements=[metrics.c.source_system, metrics.c.entity_key, metrics.c.metric_name, metrics.c.observed_at_utc])
            .returning(metrics.c.entity_key)
        )
        inserted = 0
        for chunk in _chunks(rows, 500):
            inserted += len(connection.execute(statement, chunk).all())
        counts.inserted = inserted
        counts.unchanged = len(rows) - inserted

    def _write_rejects(self, connection, batch, run_id, collected_at) -> None:
        if not batch.rejects:
            return
        connection.execute(
            insert(rejects),
            [
                {
                    "run_id": run_id,
                    "source_system": reject.source_system,
                    "entity": reject.entity or batch.mapping.entity,
                    "stream": reject.stream or batch.mapping.stream,
                    "mapping_id": reject.mapping_id,
                    "entity_key": reject.entity_key,
                    "reason": reject.reason,
                    "payload_json": canonical_json(reject.payload),
                    "rejected_at_utc": collected_at,
                }
                for reject in batch.rejects
            ],
        )

    def record_drift(self, source: str, fields: list[DriftField], *, run_id: str, seen_at: datetime) -> list[str]:
        """Add the unknown paths of one batch to the drift audit; return the paths seen for the first time."""
        if not fields:
            return []
        table = schema_drift
        try:
            with self.engine.begin() as connection:
                stream = fields[0].stream
                existing = {
                    row.field_path: row
                    for row in connection.execute(
                        select(table).where(table.c.source_system == source, table.c.stream == stream)
                    )
                }
                new_paths = []
                for drift in fields:
                    previous = existing.get(drift.path)
                    if previous is None:
                        new_paths.append(drift.path)
                    types = set(drift.types) | (set(previous.types_seen.split(",")) if previous is not None else set())
                    statement = self._insert(table).values(
                        source_system=source, stream=drift.stream, field_path=drift.path,
                        types_seen=",".join(sorted(types)), first_seen_utc=seen_at, last_seen_utc=seen_at,
                        seen_count=drift.count, first_run_id=run_id, last_run_id=run_id,
                    )
                    # ON CONFLICT keeps a second run that found the same new path at once from failing.
                    connection.execute(statement.on_conflict_do_update(
                        index_elements=[table.c.source_system, table.c.stream, table.c.field_path],
                        set_={
                            "types_seen": statement.excluded.types_seen,
                            "last_seen_utc": statement.excluded.last_seen_utc,
                            "seen_count": table.c.seen_count + statement.excluded.seen_count,
                            "last_run_id": statement.excluded.last_run_id,
                        },
                    ))
        except SQLAlchemyError as exc:
            raise CacheError(f"writing the schema drift of {source} {stream} failed: {_short_db_error(exc)}") from None
        return new_paths

    def record_run(self, **values: Any) -> None:
        """Append one line to the run log."""
        values.setdefault("finished_at_utc", values.get("started_at_utc"))
        if values.get("error"):
            values["error"] = scrub_text(values["error"])
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(run_log).values(**values))
        except SQLAlchemyError as exc:
            raise CacheError(f"writing the run log failed: {_short_db_error(exc)}") from None

    def record_audit(self, run_id: str, entries: Iterable[Any], recorded_at: datetime) -> None:
        rows = [{"run_id": run_id, "source_system": entry.source, "recorded_at_utc": recorded_at, **_audit_fields(entry)} for entry in entries]
        if not rows:
            return
        with self.engine.begin() as connection:
            connection.execute(insert(request_audit), rows)

    def read(self, statement) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(statement)]

    def dispose(self) -> None:
        self.engine.dispose()


def _audit_fields(entry: Any) -> dict[str, Any]:
    return {
        "service": entry.service,
        "method": entry.method,
        "host": entry.host,
        "path_template": entry.path_template,
        "attempt": entry.attempt,
        "status": entry.status,
        "outcome": entry.outcome,
        "duration_ms": entry.duration_ms,
        "bytes": entry.bytes,
    }


def _special_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _metric_key(row: dict[str, Any]) -> tuple:
    return (row["entity_key"], row["metric_name"], row["observed_at_utc"])


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _short_db_error(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    message = str(original if original is not None else exc).strip().splitlines()[0]
    return scrub_text(message)


def payload_of(row: dict[str, Any]) -> Any:
    return json.loads(row["payload_json"])
