"""A live run of the prometheus source against the real lab stack (Prometheus, Alertmanager, node exporter).

The stack runs on its own ports with its own state directory, so it neither disturbs nor depends
on a stack started with `make lab-up`. The cache must agree with what the servers' own APIs
return when the test queries them directly right after the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from components import require_component
from monlab import pipeline
from monlab.cache import alerts, instances, nodes

PROJECT_DIR = Path(__file__).resolve().parents[1]
STACK = PROJECT_DIR / "lab" / "stack.py"
PORTS = {
    "LAB_PROMETHEUS_PORT": "29090",
    "LAB_ALERTMANAGER_PORT": "29093",
    "LAB_NODE_EXPORTER_PORT": "29100",
    "LAB_DOWN_PORT": "29199",
}
BINARIES = (("prometheus",), ("prometheus-alertmanager", "alertmanager"), ("prometheus-node-exporter", "node_exporter"))
# Loopback only: a proxy from the environment must not see these requests.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(url: str):
    with _HTTP.open(url, timeout=5) as response:
        return json.loads(response.read().decode("utf-8"))


@pytest.fixture(scope="module")
def lab_stack(tmp_path_factory):
    """Start the lab stack on the test's ports and stop it when the module's tests are done."""
    if not all(any(shutil.which(name) for name in names) for names in BINARIES):
        require_component(
            "prometheus",
            "the lab stack needs the binaries of apt-get install prometheus prometheus-alertmanager prometheus-node-exporter",
        )
    environ = {**os.environ, **PORTS, "LAB_STATE_DIR": str(tmp_path_factory.mktemp("lab-state"))}
    stack = lambda command: subprocess.run(  # noqa: E731
        [sys.executable, str(STACK), command], env=environ, capture_output=True, text=True, timeout=150
    )
    started = stack("up")
    try:
        assert started.returncode == 0, f"lab/stack.py up failed:\n{started.stderr[-2000:]}"
        yield {
            "PROMETHEUS_URL": f"http://127.0.0.1:{PORTS['LAB_PROMETHEUS_PORT']}",
            "ALERTMANAGER_URL": f"http://127.0.0.1:{PORTS['LAB_ALERTMANAGER_PORT']}",
        }
    finally:
        stack("down")


@pytest.fixture
def live_run(lab_stack, make_settings):
    settings = make_settings(mode="live", sources="prometheus", environ=dict(lab_stack))
    run = pipeline.open_run(settings)
    outcome = pipeline.ingest_source(run, "prometheus")
    return run, outcome, lab_stack


def cached(run, table) -> dict[str, dict]:
    rows = run.cache.read(select(table).where(table.c.source_system == "prometheus", table.c.is_active.is_(True)))
    return {row["entity_key"]: row for row in rows}


def test_live_run_is_ok(live_run):
    _, outcome, _ = live_run

    assert outcome.status == "ok", outcome.error
    assert outcome.notes == []


def test_live_nodes_match_targets_api(live_run):
    run, _, urls = live_run
    targets = get_json(urls["PROMETHEUS_URL"] + "/api/v1/targets?state=active")["data"]["activeTargets"]
    expected = {f"{t['labels']['job']}/{t['labels']['instance']}": t["health"] for t in targets}
    stored = cached(run, nodes)

    assert set(stored) == set(expected)
    assert {key: row["status"] for key, row in stored.items()} == expected


def test_live_down_target_is_down(live_run):
    run, _, _ = live_run
    down_key = f"down-target/127.0.0.1:{PORTS['LAB_DOWN_PORT']}"

    assert cached(run, nodes)[down_key]["status"] == "down"
    assert cached(run, nodes)[down_key]["status_detail"]
    assert cached(run, instances)[down_key]["health"] == "critical"


def test_live_alerts_match_alertmanager_api(live_run):
    run, _, urls = live_run
    received = get_json(urls["ALERTMANAGER_URL"] + "/api/v2/alerts")
    expected = {alert["fingerprint"]: alert for alert in received}
    stored = cached(run, alerts)

    assert set(stored) == set(expected)
    for fingerprint, alert in expected.items():
        assert stored[fingerprint]["alert_name"] == alert["labels"]["alertname"]
        assert stored[fingerprint]["state"] == alert["status"]["state"]
        assert stored[fingerprint]["severity"] == alert["labels"].get("severity", "unknown")


def test_live_watchdog_is_suppressed(live_run):
    run, _, _ = live_run
    by_name = {row["alert_name"]: row for row in cached(run, alerts).values()}

    assert by_name["Watchdog"]["state"] == "suppressed"
    assert by_name["TargetDown"]["state"] == "active"
    assert by_name["TargetDown"]["resource"] == f"127.0.0.1:{PORTS['LAB_DOWN_PORT']}"
