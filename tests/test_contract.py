"""The data contract: the shipped field mapping loads, and mistakes in it are reported by mapping and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components import PROJECT_DIR
from monlab.contract import load_contract, normalize_path
from monlab.errors import ContractError

CONTRACT_PATH = PROJECT_DIR / "data" / "field_mapping.yml"

# The lab worksheet: entity -> (cadence in minutes, owner).
WORKSHEET = {
    "Active alerts": (15, "Monitoring team"),
    "Node status": (15, "Monitoring team"),
    "Instance health": (30, "DBA team"),
    "Performance metrics": (60, "DBA team"),
}


def write_contract(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "field_mapping.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def shipped_document() -> dict:
    return yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))


def test_shipped_contract_matches_worksheet():
    contract = load_contract(CONTRACT_PATH)
    for mapping in contract.mappings:
        cadence, owner = WORKSHEET[mapping.entity]
        assert mapping.cadence_minutes == cadence, mapping.id
        assert mapping.owner == owner, mapping.id


def test_known_fields_name_read_streams():
    contract = load_contract(CONTRACT_PATH)
    assert set(contract.known_fields) <= set(contract.streams())


def test_unknown_stream_in_known_fields_rejected(tmp_path):
    document = shipped_document()
    document["known_fields"] = {"uptimerobot.monitorz": ["port"]}
    with pytest.raises(ContractError, match="monitorz"):
        load_contract(write_contract(tmp_path, document))


def test_column_not_in_table_rejected(tmp_path):
    document = shipped_document()
    document["mappings"][0]["fields"][0]["column"] = "no_such_column"
    with pytest.raises(ContractError, match="no_such_column"):
        load_contract(write_contract(tmp_path, document))


def test_missing_cadence_rejected(tmp_path):
    document = shipped_document()
    del document["mappings"][0]["cadence_minutes"]
    with pytest.raises(ContractError, match="cadence_minutes"):
        load_contract(write_contract(tmp_path, document))


def test_grace_factor_below_one_rejected(tmp_path):
    document = shipped_document()
    document["freshness_grace_factor"] = 0.5
    with pytest.raises(ContractError, match="freshness_grace_factor"):
        load_contract(write_contract(tmp_path, document))


def test_text_column_lengths_come_from_table():
    contract = load_contract(CONTRACT_PATH)
    node_name = next(spec for spec in contract.get("uptimerobot.monitors").fields if spec.column == "node_name")
    detail = next(spec for spec in contract.get("uptimerobot.monitors").fields if spec.column == "status_detail")
    assert node_name.max_length == 255
    assert detail.max_length is None


def test_normalize_path_writes_indexes_as_brackets():
    assert normalize_path("weather[0].main") == "weather[].main"
    assert normalize_path("a[12].b[].c") == "a[].b[].c"


def test_stream_paths_include_keys_fields_known():
    contract = load_contract(CONTRACT_PATH)
    paths = contract.stream_paths("openweather.weather")
    assert "_location.key" in paths
    assert "weather[].main" in paths
    assert "rain" in paths
