"""Applying the contract: coercion of API quirks, rejects with reasons, duplicates and drift."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from components import PROJECT_DIR
from monlab.contract import load_contract
from monlab.transform import CoercionError, apply_mapping, coerce, detect_drift, payload_hash

CONTRACT = load_contract(PROJECT_DIR / "data" / "field_mapping.yml")
MONITORS = CONTRACT.get("uptimerobot.monitors")
TEMPERATURE = CONTRACT.get("openweather.temperature")


def monitor(**changes) -> dict:
    return {"id": 779101, "friendly_name": "Checkout API", "url": "https://shop.example.com/", "type": 1, "status": 2, "interval": 300, **changes}


@pytest.mark.parametrize(
    ("raw", "field_type", "expected"),
    [
        ("42", "integer", 42),
        ("3.5", "float", 3.5),
        ("", "integer", None),
        ("  ", "string", None),
        ("true", "boolean", True),
        (1796104380, "timestamp", datetime(2026, 12, 1, 5, 53, tzinfo=timezone.utc)),
        ("1796104380", "timestamp", datetime(2026, 12, 1, 5, 53, tzinfo=timezone.utc)),
        (1796104380000, "timestamp", datetime(2026, 12, 1, 5, 53, tzinfo=timezone.utc)),
        ("2026-12-01T05:53:00.123456789Z", "timestamp", datetime(2026, 12, 1, 5, 53, 0, 123456, tzinfo=timezone.utc)),
        ("2026-12-01T11:23:00+05:30", "timestamp", datetime(2026, 12, 1, 5, 53, tzinfo=timezone.utc)),
    ],
)
def test_coerce_known_quirks(raw, field_type, expected):
    assert coerce(raw, field_type) == expected


@pytest.mark.parametrize(
    ("raw", "field_type"),
    [("abc", "float"), ("1.5", "integer"), (True, "integer"), (2**40, "integer"), (1e20, "timestamp"), ("yesterday", "timestamp")],
)
def test_coerce_rejects_bad_values(raw, field_type):
    with pytest.raises(CoercionError):
        coerce(raw, field_type)


def test_missing_required_field_rejected_with_reason():
    batch = apply_mapping(MONITORS, [monitor(), {"id": 2, "status": 2}])
    assert len(batch.rows) == 1
    assert len(batch.rejects) == 1
    assert batch.rejects[0].entity_key == "2"
    assert "friendly_name" in batch.rejects[0].reason
    assert "found nothing" in batch.rejects[0].reason


def test_uncoercible_value_rejected_naming_value():
    batch = apply_mapping(MONITORS, [monitor(interval="every five minutes")])
    assert batch.rows == []
    assert "'interval'" in batch.rejects[0].reason
    assert "every five minutes" in batch.rejects[0].reason


def test_missing_key_rejected_without_key():
    batch = apply_mapping(MONITORS, [{"friendly_name": "no id", "status": 2}])
    assert batch.rejects[0].entity_key is None
    assert "'id'" in batch.rejects[0].reason


def test_overlong_text_rejected_not_truncated():
    batch = apply_mapping(MONITORS, [monitor(url="https://example.com/" + "a" * 600)])
    assert batch.rows == []
    assert "512" in batch.rejects[0].reason


def test_bad_record_does_not_stop_batch():
    records = [monitor(id=1), "not an object", monitor(id=2, interval=[1]), monitor(id=3)]
    batch = apply_mapping(MONITORS, records)
    assert [row.entity_key for row in batch.rows] == ["1", "3"]
    assert len(batch.rejects) == 2


def test_string_and_number_keys_agree():
    batch = apply_mapping(MONITORS, [monitor(id="779101"), monitor(id=779101.0)])
    assert batch.duplicates == 1
    assert [row.entity_key for row in batch.rows] == ["779101"]


def test_reject_payload_redacted():
    planted = "planted-key-4d1c"
    batch = apply_mapping(MONITORS, [{"id": 5, "status": 2, "api_key": planted, "url": f"https://x.example/?k={planted}"}], secrets=(planted,))
    assert planted not in str(batch.rejects[0].payload)


def test_payload_hash_ignores_key_order():
    assert payload_hash({"a": 1, "b": [1, 2]}) == payload_hash({"b": [1, 2], "a": 1})
    assert payload_hash({"a": 1}) != payload_hash({"a": 2})


def test_status_code_string_maps_like_number():
    batch = apply_mapping(MONITORS, [monitor(status="9")])
    assert batch.rows[0].values["status"] == "down"


def test_drift_reports_unknown_paths_once():
    records = [{"_location": {"key": "berlin", "name": "Berlin"}, "dt": 1, "main": {"temp": 1.0, "dew_point": 0.5}, "alerts": [{"x": 1}]}] * 3
    drift = {field.path: field for field in detect_drift(CONTRACT, "openweather.weather", records)}
    assert set(drift) == {"main.dew_point", "alerts"}
    assert drift["main.dew_point"].count == 3
    assert drift["alerts"].types == ("array",)


def test_known_fields_are_not_drift():
    records = [{"_location": {"key": "b", "name": "B", "lat": 1.0}, "dt": 1, "rain": {"1h": 0.2}, "weather": [{"id": 500, "icon": "10d"}]}]
    assert detect_drift(CONTRACT, "openweather.weather", records) == []
