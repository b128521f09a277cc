"""Two whole runs at once, in two processes, on one SQLite cache: both finish and nothing doubles."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from cache_tables_count import counts_by_table

WRITER = """
import sys
from monlab import pipeline
from monlab.config import load_settings

settings = load_settings(db_url=sys.argv[1], environ={"MONLAB_ENV_FILE": "", "MONLAB_LOGS_DIR": sys.argv[2]})
statuses = set()
# Several runs per process, so the two processes' transactions overlap.
for _ in range(3):
    run = pipeline.open_run(settings)
    outcomes = pipeline.ingest(run, "monitoring") + pipeline.ingest(run, "performance")
    statuses.update(outcome.status for outcome in outcomes)
    run.cache.dispose()
statuses = sorted(statuses)
print(",".join(statuses))
"""


def test_two_processes_share_one_cache(tmp_path):
    database = tmp_path / "cache.sqlite"
    url = f"sqlite:///{database}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONLAB_")}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, str(tmp_path / f"logs-{index}")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for index in range(2)
    ]
    results = [writer.communicate(timeout=300) for writer in writers]

    for writer, (stdout, stderr) in zip(writers, results):
        assert writer.returncode == 0, stderr[-2000:]
        assert stdout.strip() == "ok", stderr[-2000:]

    counts = counts_by_table(sqlite3.connect(database))
    assert counts == {
        "cache_monitoring_alerts": 2,
        "cache_monitoring_nodes": 6,
        "cache_perf_instances": 3,
        "cache_perf_metrics": 56,
    }
