"""The field mapping worksheet in docs/ is generated from the contract and must not go stale."""

from __future__ import annotations

from components import PROJECT_DIR
from monlab.cli import main
from monlab.contract import load_contract
from monlab.worksheet import HEADER, compare_keys, render_worksheet, worksheet_rows

CONTRACT = load_contract(PROJECT_DIR / "data" / "field_mapping.yml")


def test_docs_worksheet_is_current():
    stored = (PROJECT_DIR / "docs" / "field_mapping.md").read_text(encoding="utf-8")
    assert stored == render_worksheet(CONTRACT), "docs/field_mapping.md is stale: run `monlab worksheet`"


def test_worksheet_lists_lab_entities():
    rows = {(row["Entity"], row["Source system"]): row for row in worksheet_rows(CONTRACT)}
    assert rows[("Active alerts", "uptimerobot")]["Collection cadence"] == "every 15 min"
    assert rows[("Instance health", "openweather")]["Collection cadence"] == "every 30 min"
    assert rows[("Performance metrics", "openweather")]["Collection cadence"] == "hourly"
    assert rows[("Node status", "uptimerobot")]["Owner"] == "Monitoring team"


def test_worksheet_has_table_per_mapping():
    text = render_worksheet(CONTRACT)
    assert HEADER in text
    for mapping in CONTRACT.mappings:
        assert f"### {mapping.id}" in text


def test_check_fails_on_stale_file(tmp_path, capsys):
    stale = tmp_path / "field_mapping.md"
    stale.write_text("# old worksheet\n", encoding="utf-8")
    assert main(["worksheet", "--check", "--output", str(stale)]) == 1
    assert main(["worksheet", "--output", str(stale)]) == 0
    assert main(["worksheet", "--check", "--output", str(stale)]) == 0


def test_compare_keys_marks_drift():
    rows = {row["path"]: row["status"] for row in compare_keys(CONTRACT, "uptimerobot.monitors", [{"id": 1, "port": "", "ssl": {"brand": "x"}}])}
    assert rows["friendly_name"] == "mapped"
    assert rows["port"] == "known, not mapped"
    assert rows["ssl"] == "drift"
