"""The cache's table definitions: the four cache tables and the run log, rejects, drift and audit tables.

Snapshot tables (alerts, nodes, instances) key on (source_system, entity_key); metrics key on
(source_system, entity_key, metric_name, observed_at_utc). monlab.cache writes them.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend; SQLite stores it as naive UTC text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column; attach a timezone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData()


def _snapshot_table(name: str, *typed: Column) -> Table:
    return Table(
        name,
        metadata,
        Column("source_system", String(32), primary_key=True),
        Column("entity_key", String(255), primary_key=True),
        Column("mapping_id", String(64), nullable=False),
        Column("collected_at_utc", UTCDateTime, nullable=False),
        Column("payload_hash", String(64), nullable=False),
        *typed,
        Column("is_active", Boolean, nullable=False),
        Column("first_seen_utc", UTCDateTime, nullable=False),
        Column("changed_at_utc", UTCDateTime, nullable=False),
        Column("inactive_since_utc", UTCDateTime),
        Column("run_id", String(64), nullable=False),
        Column("payload_json", Text, nullable=False),
    )


alerts = _snapshot_table(
    "cache_monitoring_alerts",
    Column("alert_name", String(255)),
    Column("severity", String(32)),
    Column("state", String(32)),
    Column("resource", String(255)),
    Column("summary", Text),
    Column("started_at_utc", UTCDateTime),
)

nodes = _snapshot_table(
    "cache_monitoring_nodes",
    Column("node_name", String(255)),
    Column("node_type", String(64)),
    Column("address", String(512)),
    Column("status", String(32)),
    Column("status_detail", Text),
    Column("check_interval_s", Integer),
    Column("last_check_utc", UTCDateTime),
)

instances = _snapshot_table(
    "cache_perf_instances",
    Column("instance_name", String(255)),
    Column("instance_type", String(64)),
    Column("location", String(255)),
    Column("health", String(32)),
    Column("health_detail", Text),
    Column("observed_at_utc", UTCDateTime),
)

metrics = Table(
    "cache_perf_metrics",
    metadata,
    Column("source_system", String(32), primary_key=True),
    Column("entity_key", String(255), primary_key=True),
    Column("metric_name", String(128), primary_key=True),
    Column("observed_at_utc", UTCDateTime, primary_key=True),
    Column("mapping_id", String(64), nullable=False),
    Column("collected_at_utc", UTCDateTime, nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("value", Float),
    # NaN and infinities are not portable (SQLite stores NaN as NULL): value is then NULL and
    # value_text keeps "NaN", "+Inf" or "-Inf".
    Column("value_text", String(32)),
    Column("unit", String(32)),
    Column("run_id", String(64), nullable=False),
)

run_log = Table(
    "monlab_run_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("source_system", String(32), nullable=False),
    Column("mapping_id", String(64)),
    Column("step", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("complete", Boolean),
    Column("fetched", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("inactivated", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("as_of_utc", UTCDateTime, nullable=False),
    Column("started_at_utc", UTCDateTime, nullable=False),
    Column("finished_at_utc", UTCDateTime, nullable=False),
    Column("duration_ms", Integer, nullable=False, default=0),
)

rejects = Table(
    "monlab_rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("source_system", String(32), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("stream", String(128), nullable=False),
    Column("mapping_id", String(64), nullable=False),
    Column("entity_key", String(255)),
    Column("reason", Text, nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("rejected_at_utc", UTCDateTime, nullable=False),
)

# One row per payload path that the contract does not know, per (source, stream).
schema_drift = Table(
    "monlab_schema_drift",
    metadata,
    Column("source_system", String(32), primary_key=True),
    Column("stream", String(128), primary_key=True),
    Column("field_path", String(255), primary_key=True),
    Column("types_seen", String(128), nullable=False),
    Column("first_seen_utc", UTCDateTime, nullable=False),
    Column("last_seen_utc", UTCDateTime, nullable=False),
    Column("seen_count", Integer, nullable=False),
    Column("first_run_id", String(64), nullable=False),
    Column("last_run_id", String(64), nullable=False),
)

request_audit = Table(
    "monlab_request_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("source_system", String(32), nullable=False),
    Column("service", String(32), nullable=False),
    Column("method", String(8), nullable=False),
    Column("host", String(255), nullable=False),
    Column("path_template", String(255), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", Integer),
    Column("outcome", String(64), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("recorded_at_utc", UTCDateTime, nullable=False),
)

SNAPSHOT_TABLES = {table.name: table for table in (alerts, nodes, instances)}
ALL_CACHE_TABLES = {**SNAPSHOT_TABLES, metrics.name: metrics}
_BOOKKEEPING = {
    "source_system", "entity_key", "mapping_id", "collected_at_utc", "payload_hash", "is_active",
    "first_seen_utc", "changed_at_utc", "inactive_since_utc", "run_id", "payload_json", "value_text",
}


def typed_columns(table_name: str) -> list[str]:
    """Return the columns of a cache table that the contract fills."""
    table = ALL_CACHE_TABLES[table_name]
    return [column.name for column in table.columns if column.name not in _BOOKKEEPING]


def column_lengths(table_name: str) -> dict[str, int | None]:
    """Return each typed column of a cache table with its maximum text length (None: no limit)."""
    table = ALL_CACHE_TABLES[table_name]
    return {name: getattr(table.c[name].type, "length", None) for name in typed_columns(table_name)}
