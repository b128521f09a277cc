"""Cache writes on SQLite and PostgreSQL: upsert, inactivation, idempotence, rejects, drift, crashes, concurrency, UTC."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from components import PROJECT_DIR
from monlab.cache import Cache, alerts, metrics, rejects, schema_drift
from monlab.contract import load_contract
from monlab.errors import CacheError
from monlab.transform import DriftField, apply_mapping

CONTRACT = load_contract(PROJECT_DIR / "data" / "field_mapping.yml")
ALERTS = CONTRACT.get("uptimerobot.down_events")
TEMPERATURE = CONTRACT.get("openweather.temperature")
T0 = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)


def alert(monitor_id: int, status: int = 9, detail: str = "Service Unavailable") -> dict:
    return {
        "monitor": {"id": monitor_id, "friendly_name": f"site {monitor_id}", "status": status},
        "log": {"type": 1, "datetime": 1796099100, "reason": {"detail": detail}},
    }


def reading(location: str, dt: int, temp) -> dict:
    return {"_location": {"key": location, "name": location}, "dt": dt, "main": {"temp": temp}}


def write(cache: Cache, mapping, records, at=T0, complete=True, run_id="run-1"):
    return cache.write_batch(apply_mapping(mapping, records), run_id=run_id, collected_at=at, complete=complete)


def alert_rows(cache: Cache) -> dict[str, dict]:
    return {row["entity_key"]: row for row in cache.read(select(alerts))}


def test_disappearing_alert_becomes_inactive(cache):
    write(cache, ALERTS, [alert(1), alert(2)])
    later = T0 + timedelta(minutes=15)
    counts = write(cache, ALERTS, [alert(1)], at=later, run_id="run-2")
    rows = alert_rows(cache)
    gone = rows["2:1796099100"]
    assert counts.inactivated == 1
    assert gone["is_active"] is False
    assert gone["inactive_since_utc"] == later
    assert rows["1:1796099100"]["is_active"] is True


def test_partial_fetch_marks_nothing(cache):
    write(cache, ALERTS, [alert(1), alert(2)])
    counts = write(cache, ALERTS, [alert(1)], at=T0 + timedelta(minutes=15), complete=False)
    rows = alert_rows(cache)
    assert counts.inactivated == 0
    assert rows["2:1796099100"]["is_active"] is True
    assert rows["2:1796099100"]["inactive_since_utc"] is None


def test_inactivation_stays_within_its_mapping(cache):
    # A second mapping of the same source into the same table must not inactivate the first one's rows.
    other = ALERTS.__class__(**{**vars(ALERTS), "id": "uptimerobot.other_alerts", "key_prefix": "other:"})
    write(cache, ALERTS, [alert(1)])
    counts = write(cache, other, [alert(5)], at=T0 + timedelta(minutes=1))
    rows = alert_rows(cache)
    assert counts.inactivated == 0
    assert rows["1:1796099100"]["is_active"] is True
    assert rows["other:5:1796099100"]["is_active"] is True


def test_unchanged_refresh_rewrites_only_freshness(cache):
    write(cache, ALERTS, [alert(1)])
    before = alert_rows(cache)["1:1796099100"]
    later = T0 + timedelta(minutes=15)
    counts = write(cache, ALERTS, [alert(1)], at=later, run_id="run-2")
    after = alert_rows(cache)["1:1796099100"]
    assert counts.unchanged == 1
    assert counts.updated == 0
    assert counts.inserted == 0
    assert after["collected_at_utc"] == later
    assert after["changed_at_utc"] == before["changed_at_utc"]
    assert after["payload_hash"] == before["payload_hash"]


def test_changed_payload_updates_row(cache):
    write(cache, ALERTS, [alert(1)])
    later = T0 + timedelta(minutes=15)
    counts = write(cache, ALERTS, [alert(1, status=8, detail="Timeout")], at=later)
    row = alert_rows(cache)["1:1796099100"]
    assert counts.updated == 1
    assert row["severity"] == "warning"
    assert row["changed_at_utc"] == later
    assert row["first_seen_utc"] == T0


def test_duplicates_in_one_payload_keep_last(cache):
    counts = write(cache, ALERTS, [alert(1, detail="first"), alert(1, detail="second")])
    rows = alert_rows(cache)
    assert counts.duplicates == 1
    assert counts.inserted == 1
    assert len(rows) == 1
    assert rows["1:1796099100"]["summary"] == "second"


def test_metrics_same_window_adds_nothing(cache):
    window = [reading("berlin", 1796104380 + step * 60, 2.5 + step) for step in range(3)]
    first = write(cache, TEMPERATURE, window)
    second = write(cache, TEMPERATURE, window, at=T0 + timedelta(hours=1), run_id="run-2")
    count = cache.read(select(func.count()).select_from(metrics))[0]
    assert first.inserted == 3
    assert second.inserted == 0
    assert second.unchanged == 3
    assert list(count.values()) == [3]


def test_metrics_duplicate_sample_in_one_payload(cache):
    counts = write(cache, TEMPERATURE, [reading("berlin", 1796104380, 1.0), reading("berlin", 1796104380, 2.0)])
    rows = cache.read(select(metrics))
    assert counts.duplicates == 1
    assert len(rows) == 1
    assert rows[0]["value"] == 2.0


def test_metrics_special_floats_kept_as_text(cache):
    write(cache, TEMPERATURE, [reading("berlin", 1796104380, "NaN"), reading("lagos", 1796104380, "+Inf")])
    rows = {row["entity_key"]: row for row in cache.read(select(metrics))}
    assert rows["berlin"]["value"] is None
    assert rows["berlin"]["value_text"] == "NaN"
    assert rows["lagos"]["value_text"] == "+Inf"


def test_reject_is_stored_redacted_beside_good_rows(cache):
    planted = "sk-planted-secret-9f3a"
    bad = {"monitor": {"id": 3, "status": 9, "api_key": planted}, "log": {"type": 1, "datetime": 1796099100}}
    batch = apply_mapping(ALERTS, [alert(1), bad], secrets=(planted,))
    counts = cache.write_batch(batch, run_id="run-1", collected_at=T0, complete=True)
    stored = cache.read(select(rejects))
    assert counts.rejected == 1
    assert counts.inserted == 1
    assert len(stored) == 1
    assert stored[0]["entity_key"] == "3:1796099100"
    assert "monitor.friendly_name" in stored[0]["reason"]
    assert stored[0]["entity"] == "Active alerts"
    assert stored[0]["run_id"] == "run-1"
    assert planted not in stored[0]["payload_json"]


def test_drift_is_counted_once_per_path(cache):
    field = DriftField("openweather.weather", "main.dew_point", ("float",), 3)
    first = cache.record_drift("openweather", [field], run_id="run-1", seen_at=T0)
    later = T0 + timedelta(hours=1)
    second = cache.record_drift("openweather", [DriftField("openweather.weather", "main.dew_point", ("string",), 2)], run_id="run-2", seen_at=later)
    rows = cache.read(select(schema_drift))
    assert first == ["main.dew_point"]
    assert second == []
    assert len(rows) == 1
    assert rows[0]["seen_count"] == 5
    assert rows[0]["first_seen_utc"] == T0
    assert rows[0]["last_seen_utc"] == later
    assert rows[0]["types_seen"] == "float,string"


def test_crash_mid_batch_keeps_previous_state(cache, monkeypatch):
    write(cache, ALERTS, [alert(1), alert(2)])
    before = alert_rows(cache)

    def crash(*args, **kwargs):
        raise OperationalError("UPDATE", {}, Exception("disk I/O error injected by the test"))

    monkeypatch.setattr(Cache, "_inactivate_unseen", crash)
    with pytest.raises(CacheError):
        write(cache, ALERTS, [alert(1, status=8), alert(7)], at=T0 + timedelta(minutes=15), run_id="run-2")
    after = alert_rows(cache)
    assert set(after) == set(before)
    assert after["1:1796099100"]["severity"] == "critical"
    assert after["1:1796099100"]["run_id"] == "run-1"


def test_two_concurrent_writers_both_finish(cache_url):
    url, schema = cache_url
    Cache(url, schema).create()
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(location: str) -> None:
        own = Cache(url, schema)
        try:
            start.wait()
            for step in range(20):
                write(own, TEMPERATURE, [reading(location, 1796104380 + step * 60, step), reading("shared", 1796104380 + step * 60, step)])
                write(own, ALERTS, [alert(1), alert(2)], at=T0 + timedelta(minutes=step))
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("berlin", "lagos")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader = Cache(url, schema)
    samples = reader.read(select(metrics.c.entity_key, func.count().label("n")).group_by(metrics.c.entity_key))
    active = reader.read(select(alerts).where(alerts.c.is_active.is_(True)))
    reader.dispose()
    assert errors == []
    assert {row["entity_key"]: row["n"] for row in samples} == {"berlin": 20, "lagos": 20, "shared": 20}
    assert len(active) == 2


def test_timezone_round_trip(cache):
    india = timezone(timedelta(hours=5, minutes=30))
    written = datetime(2026, 12, 1, 11, 30, tzinfo=india)
    write(cache, ALERTS, [alert(1)], at=written)
    row = alert_rows(cache)["1:1796099100"]
    assert row["collected_at_utc"] == datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)
    assert row["collected_at_utc"].utcoffset() == timedelta(0)
    assert row["started_at_utc"] == datetime.fromtimestamp(1796099100, tz=timezone.utc)


def test_naive_datetime_is_rejected(cache):
    with pytest.raises(CacheError):
        write(cache, ALERTS, [alert(1)], at=datetime(2026, 12, 1, 6, 0))


def test_postgresql_non_utc_session_reads_utc(pg_url, pg_schema):
    separator = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{separator}options={quote('-c timezone=America/St_Johns')}"
    cache = Cache(url, pg_schema)
    cache.create()
    write(cache, ALERTS, [alert(1)], at=datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc))
    with cache.engine.connect() as connection:
        zone = connection.execute(text("SHOW TimeZone")).scalar()
    row = alert_rows(cache)["1:1796099100"]
    cache.dispose()
    assert zone == "America/St_Johns"
    assert row["collected_at_utc"] == datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)
    assert row["collected_at_utc"].tzinfo == timezone.utc


def test_postgresql_tables_live_in_schema(pg_url, pg_schema):
    cache = Cache(pg_url, pg_schema)
    cache.create(CONTRACT)
    names = {
        row["table_name"]
        for row in cache.read(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :schema").bindparams(schema=pg_schema))
    }
    public = cache.read(text("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'cache_%'"))
    cache.dispose()
    assert {"cache_monitoring_alerts", "cache_perf_metrics", "monlab_rejects", "monlab_schema_drift"} <= names
    assert {"monlab_active_alerts_by_severity", "monlab_feed_freshness"} <= names
    assert public[0]["n"] == 0


def test_views_show_active_alerts_and_down_resources(cache):
    cache.create(CONTRACT)
    write(cache, ALERTS, [alert(1), alert(2, status=8), alert(3)])
    write(cache, ALERTS, [alert(1), alert(2, status=8)], at=T0 + timedelta(minutes=15))
    by_severity = {row["severity"]: row["active_alerts"] for row in cache.read(text(f"SELECT * FROM {cache.qualified('monlab_active_alerts_by_severity')}"))}
    listed = cache.read(text(f"SELECT entity_key FROM {cache.qualified('monlab_active_alerts')} ORDER BY severity_rank, entity_key"))
    assert by_severity == {"critical": 1, "warning": 1}
    assert [row["entity_key"] for row in listed] == ["1:1796099100", "2:1796099100"]


def test_feed_freshness_view_lists_every_mapping(cache):
    cache.create(CONTRACT)
    rows = cache.read(text(f"SELECT mapping_id, cadence_minutes, is_stale FROM {cache.qualified('monlab_feed_freshness')}"))
    cadences = {row["mapping_id"]: row["cadence_minutes"] for row in rows}
    assert len(rows) == len(CONTRACT.mappings)
    assert cadences["uptimerobot.monitors"] == 15
    assert all(row["is_stale"] == 1 for row in rows)


def test_pipeline_counts_rejects_in_run_log(make_settings):
    from monlab import pipeline
    from monlab.cache import run_log

    run = pipeline.open_run(make_settings(sources="uptimerobot"))
    records = [{"id": 1, "friendly_name": "ok", "status": 2}, {"id": 2, "status": "nine"}, {"id": 3, "friendly_name": "x", "status": 2, "interval": "often"}]
    pipeline.write_records(run, "uptimerobot", "uptimerobot.monitors", records)
    logged = run.cache.read(select(run_log).where(run_log.c.mapping_id == "uptimerobot.monitors"))
    stored = run.cache.read(select(rejects))
    assert logged[0]["rejected"] == 2
    assert logged[0]["inserted"] == 1
    assert logged[0]["fetched"] == 3
    assert len(stored) == 2


def test_pipeline_logs_drift_once_per_run(make_settings, caplog):
    from monlab import pipeline
    from monlab.report import build_report

    run = pipeline.open_run(make_settings(sources="uptimerobot"))
    records = [{"id": index, "friendly_name": f"m{index}", "status": 2, "ssl": {"brand": "x"}} for index in range(5)]
    with caplog.at_level("WARNING", logger="monlab"):
        pipeline.write_records(run, "uptimerobot", "uptimerobot.monitors", records)
    drift_lines = [record.getMessage() for record in caplog.records if "schema drift" in record.getMessage()]
    stored = run.cache.read(select(schema_drift))
    report = build_report(run)
    problems = report.sections["Rejects and schema drift"]
    assert len(drift_lines) == 1
    assert "new field ssl" in drift_lines[0]
    assert stored[0]["seen_count"] == 5
    assert list(problems["Key or field"]) == ["ssl"]
    assert report.summary["New drift fields"] == "1"


def test_rejected_record_is_not_inactivated(cache):
    write(cache, ALERTS, [alert(1), alert(2)])
    broken = {"monitor": {"id": 2, "status": 9}, "log": {"type": 1, "datetime": 1796099100}}
    counts = write(cache, ALERTS, [alert(1), broken], at=T0 + timedelta(minutes=15))
    assert counts.rejected == 1
    assert counts.inactivated == 0
    assert alert_rows(cache)["2:1796099100"]["is_active"] is True


def test_keyless_reject_marks_nothing(cache):
    write(cache, ALERTS, [alert(1), alert(2)])
    counts = write(cache, ALERTS, [alert(1), {"log": {"datetime": 1796099100}}], at=T0 + timedelta(minutes=15))
    assert counts.inactivated == 0
    assert alert_rows(cache)["2:1796099100"]["is_active"] is True
