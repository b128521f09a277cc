"""Benchmark: writing a batch of monitor records into the cache, against floors measured in the same run.

For N synthetic UptimeRobot monitors, three timings on one fresh SQLite file each:
- floor: a plain SQLAlchemy executemany INSERT of N already-typed rows into a bare table, the least
  any SQL write of these rows can cost;
- monlab first write: contract mapping, hashing, redaction and the upsert of N new rows;
- monlab unchanged refresh: the same N records again, which only refreshes freshness stamps.

The result is the ratio of each monlab timing to the floor, so it compares across machines better than
seconds do. Run: `.venv/bin/python bench/bench_cache_write.py [N] [REPEATS]`; results are printed
and written to bench/results/cache_write.json.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert

from monlab.cache import Cache
from monlab.config import find_project_dir
from monlab.contract import load_contract
from monlab.transform import apply_mapping

ROOT = find_project_dir()
COLLECTED_AT = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)


def synthetic_monitors(count: int) -> list[dict]:
    return [
        {
            "id": 800000 + index,
            "friendly_name": f"Service {index}",
            "url": f"https://service-{index}.example.com/health",
            "type": 1,
            "status": 2 if index % 10 else 9,
            "interval": 300,
            "port": "",
            "create_datetime": 1761544800,
        }
        for index in range(count)
    ]


def time_floor(records: list[dict], workdir: Path) -> float:
    engine = create_engine(f"sqlite:///{workdir / 'floor.sqlite'}")
    metadata = MetaData()
    table = Table(
        "floor_nodes", metadata,
        Column("entity_key", String(255), primary_key=True), Column("node_name", String(255)),
        Column("address", String(512)), Column("status", String(32)), Column("check_interval_s", Integer),
    )
    metadata.create_all(engine)
    rows = [
        {"entity_key": str(record["id"]), "node_name": record["friendly_name"], "address": record["url"],
         "status": str(record["status"]), "check_interval_s": record["interval"]}
        for record in records
    ]
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def time_monlab(records: list[dict], workdir: Path) -> tuple[float, float]:
    contract = load_contract(ROOT / "data" / "field_mapping.yml")
    mapping = contract.get("uptimerobot.monitors")
    cache = Cache(f"sqlite:///{workdir / 'monlab.sqlite'}")
    cache.create(contract)

    timings = []
    for _ in range(2):
        started = time.perf_counter()
        batch = apply_mapping(mapping, records)
        cache.write_batch(batch, run_id="bench", collected_at=COLLECTED_AT, complete=True)
        timings.append(time.perf_counter() - started)
    cache.dispose()
    return timings[0], timings[1]


def main(count: int, repeats: int) -> dict:
    records = synthetic_monitors(count)
    floors, firsts, refreshes = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="monlab-bench-") as directory:
            workdir = Path(directory)
            floors.append(time_floor(records, workdir))
            first, refresh = time_monlab(records, workdir)
            firsts.append(first)
            refreshes.append(refresh)

    floor = statistics.median(floors)
    result = {
        "records": count,
        "repeats": repeats,
        "floor_s": round(floor, 4),
        "first_write_s": round(statistics.median(firsts), 4),
        "unchanged_refresh_s": round(statistics.median(refreshes), 4),
        "first_write_ratio": round(statistics.median(firsts) / floor, 1),
        "unchanged_refresh_ratio": round(statistics.median(refreshes) / floor, 1),
    }
    output = ROOT / "bench" / "results" / "cache_write.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    arguments = sys.argv[1:]
    count = int(arguments[0]) if arguments else 5000
    repeats = int(arguments[1]) if len(arguments) > 1 else 5
    print(json.dumps(main(count, repeats), indent=2))
