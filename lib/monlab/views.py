"""Views that dashboards read: active alerts, down resources, instance health and freshness.

The views are raw SQL, which schema_translate_map does not rewrite, so every name in them is
qualified with the configured schema on PostgreSQL. They are dropped and created again each time
the cache is opened, so a changed definition or contract takes effect on the next run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from monlab.cache import Cache
    from monlab.contract import Contract

# Same order as the report's severity ranking; unknown severities sort last.
_SEVERITY_RANK = "CASE lower(severity) WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'warning' THEN 2 WHEN 'medium' THEN 3 WHEN 'low' THEN 4 WHEN 'info' THEN 5 ELSE 9 END"
_SNAPSHOT_TABLES = ("cache_monitoring_alerts", "cache_monitoring_nodes", "cache_perf_instances")

VIEW_NAMES = (
    "monlab_active_alerts",
    "monlab_active_alerts_by_severity",
    "monlab_down_resources",
    "monlab_instance_health",
    "monlab_table_freshness",
    "monlab_feed_freshness",
)


def _literal(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _age_minutes(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"EXTRACT(EPOCH FROM (now() - {column})) / 60.0"
    return f"(julianday('now') - julianday({column})) * 1440.0"


def view_definitions(cache: Cache, contract: Contract | None) -> dict[str, str]:
    """Return the SELECT of each view for the cache's dialect and schema."""
    q = cache.qualified
    definitions = {
        "monlab_active_alerts": f"""
            SELECT source_system, entity_key, alert_name, severity, {_SEVERITY_RANK} AS severity_rank,
                   resource, summary, started_at_utc, collected_at_utc
            FROM {q('cache_monitoring_alerts')} WHERE is_active""",
        "monlab_active_alerts_by_severity": f"""
            SELECT source_system, severity, {_SEVERITY_RANK} AS severity_rank, COUNT(*) AS active_alerts,
                   MIN(started_at_utc) AS oldest_started_at_utc
            FROM {q('cache_monitoring_alerts')} WHERE is_active GROUP BY source_system, severity""",
        "monlab_down_resources": f"""
            SELECT source_system, 'node' AS kind, entity_key, node_name AS name, status, status_detail AS detail,
                   changed_at_utc AS status_since_utc
            FROM {q('cache_monitoring_nodes')} WHERE is_active AND status IN ('down', 'degraded')
            UNION ALL
            SELECT source_system, 'instance' AS kind, entity_key, instance_name AS name, health AS status,
                   health_detail AS detail, changed_at_utc AS status_since_utc
            FROM {q('cache_perf_instances')} WHERE is_active AND health IN ('critical', 'down')""",
        "monlab_instance_health": f"""
            SELECT source_system, entity_key, instance_name, instance_type, location, health, health_detail,
                   observed_at_utc, collected_at_utc
            FROM {q('cache_perf_instances')} WHERE is_active""",
        "monlab_table_freshness": "\n            UNION ALL\n".join(
            [
                f"""
            SELECT '{name}' AS table_name, source_system, COUNT(*) AS row_count,
                   SUM(CASE WHEN is_active THEN 1 ELSE 0 END) AS active_rows, MAX(collected_at_utc) AS last_collected_at_utc
            FROM {q(name)} GROUP BY source_system"""
                for name in _SNAPSHOT_TABLES
            ]
            + [
                f"""
            SELECT 'cache_perf_metrics' AS table_name, source_system, COUNT(*) AS row_count,
                   COUNT(*) AS active_rows, MAX(collected_at_utc) AS last_collected_at_utc
            FROM {q('cache_perf_metrics')} GROUP BY source_system"""
            ]
        ),
    }
    if contract is not None:
        definitions["monlab_feed_freshness"] = _feed_freshness(cache, contract)
    return definitions


def _feed_freshness(cache: Cache, contract: Contract) -> str:
    """Return the SELECT of the feed freshness view: each mapping's cadence beside its last good write."""
    q = cache.qualified
    cadences = ",\n                ".join(
        "(" + ", ".join(_literal(value) for value in (m.source_system, m.id, m.entity, m.table, m.owner, m.cadence_minutes)) + ")"
        for m in contract.mappings
    )
    limit = f"cadence.cadence_minutes * {contract.grace_factor!r}"
    age = _age_minutes(cache.dialect, "last_ok.last_success_utc")
    return f"""
        WITH cadence(source_system, mapping_id, entity, table_name, owner, cadence_minutes) AS (
            VALUES
                {cadences}
        ),
        last_ok AS (
            SELECT source_system, mapping_id, MAX(as_of_utc) AS last_success_utc
            FROM {q('monlab_run_log')} WHERE step = 'write' AND status = 'ok'
            GROUP BY source_system, mapping_id
        )
        SELECT cadence.source_system, cadence.mapping_id, cadence.entity, cadence.table_name, cadence.owner,
               cadence.cadence_minutes, last_ok.last_success_utc, {age} AS age_minutes,
               CASE WHEN last_ok.last_success_utc IS NULL OR {age} > {limit} THEN 1 ELSE 0 END AS is_stale
        FROM cadence LEFT JOIN last_ok
          ON last_ok.source_system = cadence.source_system AND last_ok.mapping_id = cadence.mapping_id"""


def create_views(cache: Cache, connection, contract: Contract | None) -> None:
    """Drop and create every view in the caller's transaction; without a contract the feed view is kept."""
    for name, select_sql in view_definitions(cache, contract).items():
        connection.execute(text(f"DROP VIEW IF EXISTS {cache.qualified(name)}"))
        connection.execute(text(f"CREATE VIEW {cache.qualified(name)} AS {select_sql}"))
