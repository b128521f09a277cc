"""Apply the data contract to source records: typed rows, rejects with a reason, and payload hashes.

One bad record never stops a batch: it becomes a Reject that names the field and what was found.
Known quirks of real APIs are coerced here, by type, and not in the source modules: numbers sent as
strings, "" meaning null, timestamps in unix seconds, milliseconds or ISO 8601 with nanoseconds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from monlab.contract import FieldSpec, Mapping
from monlab.redact import scrub_data

_MISSING = object()
_INDEX = re.compile(r"^(?P<name>[^\[\]]*)\[(?P<index>\d+)\]$")
_FRACTION = re.compile(r"(\.\d{6})\d+")
_SPECIAL_FLOATS = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}
# Epoch values above this are taken as milliseconds: 1e11 seconds is in the year 5138.
_MILLISECONDS_THRESHOLD = 1e11


class CoercionError(ValueError):
    """A value that cannot be read as the contract's type."""


@dataclass
class Row:
    """One typed row for a cache table, before the cache adds its bookkeeping columns."""

    entity_key: str
    values: dict[str, Any]
    payload_hash: str
    payload: Any


@dataclass
class Reject:
    """A record the contract refused, with the reason and the payload already redacted."""

    mapping_id: str
    source_system: str
    entity_key: str | None
    reason: str
    payload: Any


@dataclass
class MappedBatch:
    """The result of one mapping over one stream batch."""

    mapping: Mapping
    rows: list[Row] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates: int = 0


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def payload_hash(value: Any) -> str:
    """Return the sha256 of the canonical JSON of a source object."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def lookup(record: Any, path: str) -> Any:
    """Follow a dotted path with optional [n] indexes; return _MISSING when any step is absent."""
    current = record
    for part in path.split("."):
        match = _INDEX.match(part)
        name, index = (match.group("name"), int(match.group("index"))) if match else (part, None)
        if name:
            if not isinstance(current, dict) or name not in current:
                return _MISSING
            current = current[name]
        if index is not None:
            if not isinstance(current, list) or index >= len(current):
                return _MISSING
            current = current[index]
    return current


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise CoercionError("a boolean is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[text.lower()]
        try:
            return float(text)
        except ValueError:
            raise CoercionError("not a number") from None
    raise CoercionError(f"a {type(value).__name__} is not a number")


def _to_integer(value: Any) -> int:
    number = _to_float(value)
    if not math.isfinite(number) or number != int(number):
        raise CoercionError("not a whole number")
    return int(number)


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise CoercionError("not a boolean")


def _to_timestamp(value: Any) -> datetime:
    if isinstance(value, str) and not re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
        text = _FRACTION.sub(r"\1", value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise CoercionError("not an ISO 8601 time or a unix time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    seconds = _to_float(value)
    if not math.isfinite(seconds):
        raise CoercionError("not a finite unix time")
    if abs(seconds) > _MILLISECONDS_THRESHOLD:
        seconds /= 1000.0
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _to_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return canonical_json(value)
    return str(value)


_COERCERS = {
    "string": _to_string,
    "integer": _to_integer,
    "float": _to_float,
    "boolean": _to_boolean,
    "timestamp": _to_timestamp,
}


def coerce(value: Any, field_type: str) -> Any:
    """Coerce a raw value to a contract type; None and "" become None."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    return _COERCERS[field_type](value)


def _short(value: Any) -> str:
    text = canonical_json(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_value(spec: FieldSpec, record: Any) -> Any:
    """Return the typed value of one field, or raise CoercionError with the reason."""
    if spec.path is None:
        raw = spec.value
    else:
        raw = lookup(record, spec.path)
        if raw is _MISSING:
            raw = None
    if spec.mapping is not None and raw is not None:
        mapped = spec.mapping.get(_to_string(raw).strip(), _MISSING)
        if mapped is _MISSING:
            mapped = spec.default if spec.default is not None else raw
        raw = mapped
    try:
        value = coerce(raw, spec.type)
    except CoercionError as exc:
        raise CoercionError(f"field {spec.path or spec.column!r}: cannot read {_short(raw)} as {spec.type} ({exc})") from None
    if value is None and spec.default is not None and spec.mapping is None:
        value = coerce(spec.default, spec.type)
    if value is None and spec.required:
        found = "nothing" if spec.path and lookup(record, spec.path) is _MISSING else _short(raw)
        raise CoercionError(f"missing required field {spec.path or spec.column!r} (found {found})")
    return value


def entity_key(mapping: Mapping, record: Any) -> str | None:
    parts = []
    for path in mapping.key:
        value = lookup(record, path)
        if value is _MISSING or value is None or value == "":
            return None
        parts.append(_to_string(value))
    return mapping.key_prefix + ":".join(parts)


def apply_mapping(mapping: Mapping, records: list[Any], secrets: tuple[str, ...] = ()) -> MappedBatch:
    """Map records into typed rows; records that break the contract become rejects."""
    batch = MappedBatch(mapping=mapping)
    seen: dict[str, int] = {}
    for record in records:
        # Typed columns come from the scrubbed record too, so an API that echoes a key into a
        # name or message field stores no secret in any column.
        payload = scrub_data(record, secrets)
        key = entity_key(mapping, payload)
        if key is None:
            batch.rejects.append(
                Reject(mapping.id, mapping.source_system, None, f"missing key field(s) {', '.join(mapping.key)}", payload)
            )
            continue
        try:
            values = {spec.column: _field_value(spec, payload) for spec in mapping.fields}
        except CoercionError as exc:
            batch.rejects.append(Reject(mapping.id, mapping.source_system, key, str(exc), payload))
            continue
        row = Row(entity_key=key, values=values, payload_hash=payload_hash(payload), payload=payload)
        unique = key if not mapping.is_metric else f"{key}|{values['metric_name']}|{values['observed_at_utc']}"
        if unique in seen:
            # The same object twice in one payload: the later one wins, counted as a duplicate.
            batch.rows[seen[unique]] = row
            batch.duplicates += 1
            continue
        seen[unique] = len(batch.rows)
        batch.rows.append(row)
    return batch
