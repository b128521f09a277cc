"""The prometheus source: replay of the cassettes recorded from the lab stack, and loopback fakes for errors."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import select

from monlab import pipeline
from monlab.cache import alerts, instances, metrics, nodes, request_audit
from source_fakes import FakeAPI, always

PROJECT_DIR = Path(__file__).resolve().parents[1]
CASSETTES = PROJECT_DIR / "cassettes" / "prometheus"


def recorded_body(scenario: str, path: str):
    """Return the JSON body the cassette recorded for the first request to `path`."""
    document = yaml.safe_load((CASSETTES / f"{scenario}.yaml").read_text(encoding="utf-8"))
    for interaction in document["interactions"]:
        if path in interaction["request"]["uri"]:
            return json.loads(interaction["response"]["body"]["string"])
    raise AssertionError(f"no interaction for {path} in {scenario}")


def table_rows(run, table) -> dict[str, dict]:
    found = run.cache.read(select(table).where(table.c.source_system == "prometheus"))
    return {row["entity_key"]: row for row in found}


def replay(make_settings, scenario: str, **environ):
    run = pipeline.open_run(make_settings(mode="replay", sources="prometheus", scenario=scenario, environ=environ))
    return run, pipeline.ingest_source(run, "prometheus")


def test_replay_normal_targets_become_nodes(make_settings):
    run, outcome = replay(make_settings, "normal")
    targets = recorded_body("normal", "/api/v1/targets")["data"]["activeTargets"]
    stored = table_rows(run, nodes)

    assert outcome.status == "ok"
    assert len(stored) == len(targets)
    for target in targets:
        row = stored[f"{target['labels']['job']}/{target['labels']['instance']}"]
        assert row["status"] == target["health"]
        assert row["address"] == target["scrapeUrl"]
        assert row["check_interval_s"] == 2
        assert row["status_detail"] == (target["lastError"] or None)


def test_replay_normal_down_target_is_critical_instance(make_settings):
    run, _ = replay(make_settings, "normal")
    stored = table_rows(run, instances)
    down = stored["down-target/127.0.0.1:19199"]

    assert down["health"] == "critical"
    assert "connection refused" in down["health_detail"]
    assert stored["node/127.0.0.1:19100"]["health"] == "ok"


def test_replay_normal_alerts_keep_fingerprint_and_state(make_settings):
    run, _ = replay(make_settings, "normal")
    recorded = recorded_body("normal", "/api/v2/alerts")
    stored = table_rows(run, alerts)

    assert set(stored) == {alert["fingerprint"] for alert in recorded}
    by_name = {row["alert_name"]: row for row in stored.values()}
    assert by_name["Watchdog"]["state"] == "suppressed"
    assert by_name["TargetDown"]["state"] == "active"
    assert by_name["TargetDown"]["severity"] == "critical"
    assert by_name["TargetDown"]["resource"] == "127.0.0.1:19199"
    assert by_name["HostMemoryInUse"]["severity"] == "warning"


def test_replay_normal_nan_sample_kept_as_text(make_settings):
    run, _ = replay(make_settings, "normal")
    stored = run.cache.read(select(metrics).where(metrics.c.metric_name == "samples_kept_ratio"))
    by_key = {row["entity_key"]: row for row in stored}

    assert by_key["down-target/127.0.0.1:19199"]["value"] is None
    assert by_key["down-target/127.0.0.1:19199"]["value_text"] == "NaN"
    assert by_key["node/127.0.0.1:19100"]["value"] == 1.0


def test_replay_normal_up_metric_per_target(make_settings):
    run, _ = replay(make_settings, "normal")
    stored = run.cache.read(select(metrics).where(metrics.c.metric_name == "target_up"))
    values = {row["entity_key"]: row["value"] for row in stored}

    assert values["down-target/127.0.0.1:19199"] == 0.0
    assert values["prometheus/127.0.0.1:19090"] == 1.0
    assert all(row["observed_at_utc"] == run.as_of for row in stored)


def test_replay_twice_adds_no_rows(make_settings):
    run, _ = replay(make_settings, "normal")
    count = len(run.cache.read(select(metrics)))
    second = pipeline.ingest_source(run, "prometheus")

    assert second.status == "ok"
    assert len(run.cache.read(select(metrics))) == count
    assert all(counts.inserted == 0 for counts in second.writes.values())


def test_replay_query_error_is_partial(make_settings):
    config = str(PROJECT_DIR / "lab" / "monlab_query_error.yml")
    run, outcome = replay(make_settings, "query_error", MONLAB_CONFIG=config)

    assert outcome.status == "partial"
    assert any("bad_data" in note and "broken_query" in note for note in outcome.notes)
    assert len(table_rows(run, nodes)) == 3
    assert run.cache.read(select(metrics).where(metrics.c.metric_name == "target_up"))


def fake_routes(overrides=None):
    target = {
        "labels": {"job": "api", "instance": "10.0.0.5:9100"}, "scrapeUrl": "http://10.0.0.5:9100/metrics",
        "health": "unknown", "lastError": "", "lastScrape": "0001-01-01T00:00:00Z", "scrapeInterval": "1m30s",
    }
    alert = {
        "labels": {"alertname": "DiskFull", "instance": "10.0.0.5:9100"}, "annotations": {},
        "startsAt": "2026-12-01T05:00:00.123456789Z", "endsAt": "2026-12-01T06:10:00Z",
        "fingerprint": "abc123", "status": {"state": "unprocessed", "silencedBy": [], "inhibitedBy": []},
    }
    vector = [
        {"metric": {"job": "api", "instance": "10.0.0.5:9100"}, "value": [1796104800.5, "+Inf"]},
        {"metric": {"job": "api", "instance": "10.0.0.5:9100", "device": "sda"}, "value": [1796104800.5, "-Inf"]},
    ]
    routes = {
        ("GET", "/api/v1/targets"): always(200, {"status": "success", "data": {"activeTargets": [target], "droppedTargets": []}}),
        ("GET", "/api/v2/alerts"): always(200, [alert]),
        ("GET", "/api/v1/query"): always(200, {"status": "success", "data": {"resultType": "vector", "result": vector}}),
    }
    routes.update(overrides or {})
    return routes


def live(make_settings, fake: FakeAPI, alertmanager: FakeAPI | None = None):
    environ = {"PROMETHEUS_URL": fake.url, "ALERTMANAGER_URL": (alertmanager or fake).url}
    run = pipeline.open_run(make_settings(mode="live", sources="prometheus", environ=environ))
    return run, pipeline.ingest_source(run, "prometheus")


def test_live_infinities_and_missing_severity(make_settings):
    with FakeAPI(fake_routes()) as fake:
        run, outcome = live(make_settings, fake)
    stored = {row["entity_key"]: row for row in run.cache.read(select(metrics))}
    alert = table_rows(run, alerts)["abc123"]

    assert outcome.status == "ok"
    assert stored["api/10.0.0.5:9100"]["value_text"] == "+Inf"
    assert stored['api/10.0.0.5:9100{device="sda"}']["value_text"] == "-Inf"
    assert stored["api/10.0.0.5:9100"]["value"] is None
    assert alert["severity"] == "unknown"
    assert alert["state"] == "unprocessed"
    assert table_rows(run, nodes)["api/10.0.0.5:9100"]["check_interval_s"] == 90


def test_live_503_plain_text_fails_clearly(make_settings):
    starting = always(503, "Service Unavailable", {"Content-Type": "text/plain; charset=utf-8"})
    routes = {key: starting for key in fake_routes()}
    with FakeAPI(routes) as fake:
        run, outcome = live(make_settings, fake)

    assert outcome.status == "failed"
    assert "503" in outcome.error
    assert "starting" in outcome.error
    assert run.cache.read(select(nodes)) == []


def test_live_envelope_error_names_error_type(make_settings):
    error = {"status": "error", "errorType": "execution", "error": "query processing would load too many samples"}
    with FakeAPI(fake_routes({("GET", "/api/v1/targets"): always(422, error)})) as fake:
        run, outcome = live(make_settings, fake)

    assert outcome.status == "partial"
    assert any("errorType execution" in note for note in outcome.notes)
    assert table_rows(run, nodes) == {}
    assert "abc123" in table_rows(run, alerts)


def test_live_alertmanager_error_keeps_targets(make_settings):
    with FakeAPI(fake_routes()) as prometheus, FakeAPI({("GET", "/api/v2/alerts"): always(400, '"bad matcher"')}) as alertmanager:
        run, outcome = live(make_settings, prometheus, alertmanager)
    audit = run.cache.read(select(request_audit.c.service, request_audit.c.status))

    assert outcome.status == "partial"
    assert any("bad matcher" in note for note in outcome.notes)
    assert "api/10.0.0.5:9100" in table_rows(run, nodes)
    assert ("alertmanager", 400) in {(row["service"], row["status"]) for row in audit}


def test_live_every_read_failing_fails_source(make_settings):
    broken = always(400, {"status": "error", "errorType": "bad_data", "error": "nope"})
    with FakeAPI({key: broken for key in fake_routes()}) as fake:
        _, outcome = live(make_settings, fake)

    assert outcome.status == "failed"
    assert "bad_data" in outcome.error
