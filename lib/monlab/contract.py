"""The data contract: data/field_mapping.yml, loaded and checked against the cache tables.

A source module emits records on named streams. Each mapping of the contract reads the records of
one stream into one cache table: it names the entity, the source system, the cadence, the owner,
the key, and for each column the source path, the type, the unit and whether it is required.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re

import yaml

from monlab.errors import ContractError

DEFAULT_GRACE_FACTOR = 2.0
_LIST_INDEX = re.compile(r"\[\d*\]")

TYPES = ("string", "integer", "float", "boolean", "timestamp")
TABLES = (
    "cache_monitoring_alerts",
    "cache_monitoring_nodes",
    "cache_perf_instances",
    "cache_perf_metrics",
)


@dataclass(frozen=True)
class FieldSpec:
    """How one column is filled: from a source path, or from a constant `value`."""

    column: str
    type: str
    path: str | None = None
    value: Any = None
    required: bool = False
    unit: str | None = None
    mapping: dict[str, Any] | None = None
    default: Any = None
    description: str = ""
    # Longest text the destination column takes (from the table definition), None for no limit.
    max_length: int | None = None


@dataclass(frozen=True)
class Mapping:
    """One row of the field mapping worksheet: a stream of one source into one table."""

    id: str
    entity: str
    source_system: str
    stream: str
    table: str
    cadence_minutes: int
    owner: str
    key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    key_prefix: str = ""
    description: str = ""

    @property
    def is_metric(self) -> bool:
        return self.table == "cache_perf_metrics"


@dataclass(frozen=True)
class Contract:
    """Every mapping, plus per stream the source paths that are known but deliberately not mapped."""

    mappings: tuple[Mapping, ...]
    known_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A feed is stale once its last good collection is older than this many cadences.
    grace_factor: float = DEFAULT_GRACE_FACTOR

    def streams(self) -> list[str]:
        """Return every stream the contract reads, in the order of first mention."""
        return list(dict.fromkeys(mapping.stream for mapping in self.mappings))

    def stream_paths(self, stream: str) -> set[str]:
        """Return the normalized source paths of a stream that are not drift: mapped, keys or known."""
        paths = set(self.known_fields.get(stream, ()))
        for mapping in self.for_stream(stream):
            paths.update(mapping.key)
            paths.update(spec.path for spec in mapping.fields if spec.path)
        return {normalize_path(path) for path in paths}

    def for_stream(self, stream: str) -> list[Mapping]:
        return [mapping for mapping in self.mappings if mapping.stream == stream]

    def for_source(self, source: str) -> list[Mapping]:
        return [mapping for mapping in self.mappings if mapping.source_system == source]

    def get(self, mapping_id: str) -> Mapping:
        for mapping in self.mappings:
            if mapping.id == mapping_id:
                return mapping
        raise ContractError(f"no mapping with id {mapping_id!r} in the contract")


def normalize_path(path: str) -> str:
    """Write every list index of a source path as [], so weather[0].main and weather[].main match."""
    return _LIST_INDEX.sub("[]", path.strip())


def _require(entry: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    value = entry.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ContractError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, found {value!r}")
    return value


def _parse_field(entry: Any, where: str, table_columns: dict[str, int | None]) -> FieldSpec:
    if not isinstance(entry, dict):
        raise ContractError(f"{where}: expected a mapping")
    column = _require(entry, "column", where, str)
    if column not in table_columns:
        raise ContractError(f"{where}.column: {column!r} is not a typed column of the destination table")
    field_type = entry.get("type", "string")
    if field_type not in TYPES:
        raise ContractError(f"{where}.type: expected one of {', '.join(TYPES)}, found {field_type!r}")
    if ("path" in entry) == ("value" in entry):
        raise ContractError(f"{where}: give exactly one of path (a source field) or value (a constant)")
    mapping = entry.get("map")
    if mapping is not None and not isinstance(mapping, dict):
        raise ContractError(f"{where}.map: expected a mapping of source values to column values")
    return FieldSpec(
        column=column,
        type=field_type,
        path=entry.get("path"),
        value=entry.get("value"),
        required=bool(entry.get("required", False)),
        unit=entry.get("unit"),
        mapping={str(key): value for key, value in mapping.items()} if mapping else None,
        default=entry.get("default"),
        description=str(entry.get("description", "")),
        max_length=table_columns[column],
    )


def _parse_mapping(entry: Any, index: int, table_columns: dict[str, dict[str, int | None]]) -> Mapping:
    where = f"mappings[{index}]"
    if not isinstance(entry, dict):
        raise ContractError(f"{where}: expected a mapping")
    mapping_id = _require(entry, "id", where, str)
    where = f"mapping {mapping_id}"
    table = _require(entry, "table", where, str)
    if table not in TABLES:
        raise ContractError(f"{where}.table: expected one of {', '.join(TABLES)}, found {table!r}")
    cadence = _require(entry, "cadence_minutes", where, int)
    if cadence <= 0:
        raise ContractError(f"{where}.cadence_minutes: must be positive, found {cadence}")
    key = entry.get("key")
    if not isinstance(key, list) or not key or not all(isinstance(part, str) for part in key):
        raise ContractError(f"{where}.key: expected a non-empty list of source paths")
    raw_fields = entry.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise ContractError(f"{where}.fields: expected a non-empty list")
    fields = tuple(
        _parse_field(item, f"{where}.fields[{position}]", table_columns[table])
        for position, item in enumerate(raw_fields)
    )
    columns = [spec.column for spec in fields]
    duplicated = {column for column in columns if columns.count(column) > 1}
    if duplicated:
        raise ContractError(f"{where}.fields: column {sorted(duplicated)[0]!r} is filled twice")
    if table == "cache_perf_metrics":
        missing = {"metric_name", "observed_at_utc", "value"} - set(columns)
        if missing:
            raise ContractError(f"{where}.fields: a metrics mapping must fill {', '.join(sorted(missing))}")
    return Mapping(
        id=mapping_id,
        entity=_require(entry, "entity", where, str),
        source_system=_require(entry, "source_system", where, str),
        stream=_require(entry, "stream", where, str),
        table=table,
        cadence_minutes=cadence,
        owner=_require(entry, "owner", where, str),
        key=tuple(key),
        fields=fields,
        key_prefix=str(entry.get("key_prefix", "")),
        description=str(entry.get("description", "")),
    )


def load_contract(path: Path) -> Contract:
    """Load and validate the field mapping; a mistake raises ContractError naming the mapping and key."""
    from monlab.cache import column_lengths

    if not path.is_file():
        raise ContractError(f"contract file not found: {path}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"contract file {path} is not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("mappings"), list):
        raise ContractError(f"contract file {path} must contain a list under 'mappings'")

    table_columns = {table: column_lengths(table) for table in TABLES}
    mappings = tuple(
        _parse_mapping(entry, index, table_columns) for index, entry in enumerate(document["mappings"])
    )
    ids = [mapping.id for mapping in mappings]
    duplicated = {mapping_id for mapping_id in ids if ids.count(mapping_id) > 1}
    if duplicated:
        raise ContractError(f"mapping id {sorted(duplicated)[0]!r} appears twice in {path}")

    return Contract(
        mappings=mappings,
        known_fields=_parse_known_fields(document.get("known_fields"), {mapping.stream for mapping in mappings}),
        grace_factor=_parse_grace_factor(document.get("freshness_grace_factor", DEFAULT_GRACE_FACTOR)),
    )


def _parse_known_fields(known: Any, streams: set[str]) -> dict[str, tuple[str, ...]]:
    if known is None:
        return {}
    if not isinstance(known, dict):
        raise ContractError("known_fields: expected a mapping of stream names to lists of source paths")
    parsed = {}
    for stream, paths in known.items():
        if stream not in streams:
            raise ContractError(f"known_fields.{stream}: no mapping reads stream {stream!r}; check the spelling")
        if not isinstance(paths, list) or not all(isinstance(path, str) and path.strip() for path in paths):
            raise ContractError(f"known_fields.{stream}: expected a list of source paths")
        parsed[stream] = tuple(paths)
    return parsed


def _parse_grace_factor(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
        raise ContractError(f"freshness_grace_factor: expected a number of cadences of at least 1, found {value!r}")
    return float(value)
