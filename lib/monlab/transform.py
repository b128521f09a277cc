"""Apply the data contract to source records: typed rows, rejects with a reason, drift and payload hashes.

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

from monlab.contract import Contract, FieldSpec, Mapping
from monlab.redact import scrub_data

_MISSING = object()
_INDEX = re.compile(r"^(?P<name>[^\[\]]*)\[(?P<index>\d+)\]$")
_FRACTION = re.compile(r"(\.\d{6})\d+")
_SPECIAL_FLOATS = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}
# Epoch values above this are taken as milliseconds: 1e11 seconds is in the year 5138.
_MILLISECONDS_THRESHOLD = 1e11
# The cache stores integers in 32-bit columns (PostgreSQL "integer"); larger ones are rejected.
_INTEGER_RANGE = (-(2**31), 2**31 - 1)


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
    entity: str = ""
    stream: str = ""


@dataclass
class MappedBatch:
    """The result of one mapping over one stream batch."""

    mapping: Mapping
    rows: list[Row] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates: int = 0


@dataclass
class DriftField:
    """A source path of a stream that the contract does not know, as seen in one batch."""

    stream: str
    path: str
    types: tuple[str, ...]
    count: int


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def payload_hash(value: Any) -> str:
    """Return the sha256 of the canonical JSON of a source object.

    Callers hash the object after redaction, so that the stored hash cannot confirm a guessed
    secret against the stored (redacted) payload.
    """
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
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        number = _to_float(value)
        if not math.isfinite(number) or number != int(number):
            raise CoercionError("not a whole number")
        number = int(number)
    if not _INTEGER_RANGE[0] <= number <= _INTEGER_RANGE[1]:
        raise CoercionError("outside the 32-bit integer range of the column")
    return number


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
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise CoercionError("a unix time outside the years 1 to 9999") from None


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
    if isinstance(value, str) and spec.max_length is not None and len(value) > spec.max_length:
        raise CoercionError(
            f"field {spec.path or spec.column!r}: {len(value)} characters, more than the {spec.max_length} of column {spec.column}"
        )
    return value


# The entity_key column of every cache table is a String(255).
MAX_KEY_LENGTH = 255


def entity_key(mapping: Mapping, record: Any) -> str:
    """Join the key paths of a record into its entity key, or raise CoercionError naming the missing part."""
    parts = []
    for path in mapping.key:
        value = lookup(record, path)
        if value is _MISSING or value is None or value == "":
            found = "nothing" if value is _MISSING else _short(value)
            raise CoercionError(f"missing key field {path!r} (found {found})")
        if isinstance(value, float) and value.is_integer():
            # 779101.0 and 779101 name the same object, so they must give the same key.
            value = int(value)
        parts.append(_to_string(value))
    key = mapping.key_prefix + ":".join(parts)
    if len(key) > MAX_KEY_LENGTH:
        raise CoercionError(f"key {_short(key)} has {len(key)} characters, more than {MAX_KEY_LENGTH}")
    return key


def _map_record(mapping: Mapping, record: Any) -> tuple[str | None, dict[str, Any] | None, str | None]:
    """Return (key, values, None) for a good record and (key or None, None, reason) for a bad one."""
    try:
        key = entity_key(mapping, record)
    except CoercionError as exc:
        return None, None, str(exc)
    try:
        return key, {spec.column: _field_value(spec, record) for spec in mapping.fields}, None
    except CoercionError as exc:
        return key, None, str(exc)
    except (TypeError, ValueError, ArithmeticError) as exc:
        # A quirk no coercion foresaw still rejects one record instead of stopping the batch.
        return key, None, f"cannot map the record: {type(exc).__name__}: {_short(str(exc))}"


def apply_mapping(mapping: Mapping, records: list[Any], secrets: tuple[str, ...] = ()) -> MappedBatch:
    """Map records into typed rows; records that break the contract become rejects."""
    batch = MappedBatch(mapping=mapping)
    seen: dict[str, int] = {}
    for record in records:
        # Typed columns come from the scrubbed record too, so an API that echoes a key into a
        # name or message field stores no secret in any column.
        payload = scrub_data(record, secrets)
        key, values, reason = _map_record(mapping, payload)
        if values is None:
            batch.rejects.append(Reject(mapping.id, mapping.source_system, key, reason, payload, mapping.entity, mapping.stream))
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


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _covers(known: set[str], path: str) -> bool:
    """Return whether a known path is the path itself or one of its ancestors."""
    return any(path == item or path.startswith(item + ".") or path.startswith(item + "[]") for item in known)


def _is_ancestor(known: set[str], path: str) -> bool:
    return any(item.startswith(path + ".") or item.startswith(path + "[]") for item in known)


def _unknown_paths(value: Any, prefix: str, known: set[str], found: dict[str, set[str]]) -> None:
    """Collect the outermost unknown paths under prefix, with the JSON types seen there."""
    if isinstance(value, dict):
        for name, item in value.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            if _covers(known, path):
                continue
            if _is_ancestor(known, path) and isinstance(item, (dict, list)):
                _unknown_paths(item, path, known, found)
            else:
                found.setdefault(path, set()).add(_json_type(item))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                _unknown_paths(item, f"{prefix}[]", known, found)


def detect_drift(contract: Contract, stream: str, records: list[Any]) -> list[DriftField]:
    """Return the payload paths of a stream that the contract neither maps nor lists as known.

    A known path covers everything under it; an unknown object is reported once, at its top.
    """
    known = contract.stream_paths(stream)
    counts: dict[str, int] = {}
    types: dict[str, set[str]] = {}
    for record in records:
        found: dict[str, set[str]] = {}
        _unknown_paths(record, "", known, found)
        for path, seen_types in found.items():
            counts[path] = counts.get(path, 0) + 1
            types.setdefault(path, set()).update(seen_types)
    return [DriftField(stream, path, tuple(sorted(types[path])), counts[path]) for path in sorted(counts)]
