"""Record the Prometheus and Alertmanager cassettes from the lab stack's real servers.

Start the stack first (`python3 lab/stack.py up`, default ports 19090 and 19093), then run from
the repository root: `.venv/bin/python scripts/record_prometheus_cassettes.py`. Each scenario runs
the prometheus source in record mode against the stack, so vcrpy writes
cassettes/prometheus/<scenario>.yaml, scrubbed like every recording; the cache of the run goes to a
temporary database and is thrown away.

Scenarios:
  normal       every read with the queries of data/config.yml
  query_error  the same, with lab/monlab_query_error.yml, whose second query is invalid PromQL, so
               Prometheus rejects it with HTTP 400 and errorType bad_data
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import yaml

from monlab import pipeline
from monlab.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "normal": {
        "config": None,
        "note": "the lab stack: three targets (node, prometheus up; down-target down), alerts TargetDown, "
        "HostMemoryInUse active and Watchdog suppressed, and the queries of data/config.yml",
    },
    "query_error": {
        "config": ROOT / "lab" / "monlab_query_error.yml",
        "note": "the lab stack with lab/monlab_query_error.yml: the query broken_query is invalid PromQL and "
        "Prometheus answers HTTP 400 with errorType bad_data; replay it with MONLAB_CONFIG set to that file",
    },
}


def record(scenario: str, config: Path | None, note: str, workdir: Path) -> None:
    environ = {
        "MONLAB_DB_URL": f"sqlite:///{workdir / (scenario + '.sqlite')}",
        "MONLAB_OUTPUT_DIR": str(workdir / "output"),
        "MONLAB_LOGS_DIR": str(workdir / "logs"),
        "PROMETHEUS_URL": os.environ.get("PROMETHEUS_URL", "http://127.0.0.1:19090"),
        "ALERTMANAGER_URL": os.environ.get("ALERTMANAGER_URL", "http://127.0.0.1:19093"),
    }
    if config is not None:
        environ["MONLAB_CONFIG"] = str(config)
    settings = load_settings(mode="record", sources="prometheus", scenario=scenario, environ=environ, project_dir=ROOT)
    run = pipeline.open_run(settings)
    outcome = pipeline.ingest_source(run, "prometheus")
    run.cache.dispose()
    if outcome.status not in ("ok", "partial"):
        raise SystemExit(f"recording {scenario} failed ({outcome.status}): {outcome.error}; is the lab stack up?")

    path = ROOT / "cassettes" / "prometheus" / f"{scenario}.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["metadata"]["provenance"] = (
        "recorded from the lab stack's real Prometheus and Alertmanager (Debian packages) by "
        "scripts/record_prometheus_cassettes.py, scrubbed of credentials"
    )
    document["metadata"]["scenario_note"] = note
    header = f"# prometheus/{scenario}: {note}\n# {document['metadata']['provenance']}\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    print(f"recorded {path.relative_to(ROOT)}: status {outcome.status}, {outcome.requests} requests")


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenario {unknown[0]!r}; scenarios: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="monlab-record-") as workdir:
        for name in names or list(SCENARIOS):
            record(name, SCENARIOS[name]["config"], SCENARIOS[name]["note"], Path(workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
