"""The field mapping worksheet: docs/field_mapping.md, rendered from the contract alone.

`monlab worksheet` writes it; a test fails when the file in docs/ differs from a fresh rendering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monlab.contract import Contract, FieldSpec, Mapping

HEADER = "| Entity | Source system | Collection cadence | Destination table | Owner |"


def _cell(value: Any) -> str:
    """Return text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ").strip()


def cadence_text(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hourly" if hours == 1 else f"every {hours} h"
    return f"every {minutes} min"


def _source(spec: FieldSpec) -> str:
    return f"`{spec.path}`" if spec.path is not None else f"constant `{spec.value}`"


def _notes(spec: FieldSpec) -> str:
    parts = []
    if spec.mapping:
        parts.append("map " + ", ".join(f"{key} → {value}" for key, value in spec.mapping.items()))
    if spec.default is not None:
        parts.append(f"default {spec.default}")
    if spec.description:
        parts.append(spec.description)
    return "; ".join(parts)


def worksheet_rows(contract: Contract) -> list[dict[str, str]]:
    """Return one row per (entity, source, cadence, table, owner), the way the lab worksheet lists them."""
    rows = {}
    for mapping in contract.mappings:
        row = {
            "Entity": mapping.entity,
            "Source system": mapping.source_system,
            "Collection cadence": cadence_text(mapping.cadence_minutes),
            "Destination table": mapping.table,
            "Owner": mapping.owner,
        }
        rows.setdefault(tuple(row.values()), row)
    return list(rows.values())


def _mapping_section(mapping: Mapping) -> list[str]:
    lines = [
        f"### {mapping.id}",
        "",
        f"{_cell(mapping.description) or mapping.entity}",
        "",
        f"Stream `{mapping.stream}` → `{mapping.table}`, {cadence_text(mapping.cadence_minutes)}, owner {mapping.owner}. "
        f"Entity key: {', '.join(f'`{path}`' for path in mapping.key)}"
        + (f" with prefix `{mapping.key_prefix}`." if mapping.key_prefix else "."),
        "",
        "| Source path | Column | Type | Unit | Required | Notes |",
        "|---|---|---|---|---|---|",
    ]
    for spec in mapping.fields:
        lines.append(
            f"| {_cell(_source(spec))} | `{spec.column}` | {spec.type} | {_cell(spec.unit or '')} | "
            f"{'yes' if spec.required else 'no'} | {_cell(_notes(spec))} |"
        )
    return lines + [""]


def render_worksheet(contract: Contract) -> str:
    """Return the Markdown worksheet: the summary table, then a field table per mapping."""
    lines = [
        "# Field mapping worksheet",
        "",
        "<!-- Generated from data/field_mapping.yml by `monlab worksheet`; edit the contract, not this file. -->",
        "",
        HEADER,
        "|---|---|---|---|---|",
    ]
    for row in worksheet_rows(contract):
        lines.append("| " + " | ".join(_cell(value) for value in row.values()) + " |")
    lines += [
        "",
        f"A feed is stale once its last good collection is older than {contract.grace_factor:g} times its cadence.",
        "",
        "## Fields per mapping",
        "",
        "A record missing a required field, or with a value that cannot be read as the column's type, "
        "is stored in `monlab_rejects` with the reason. Payload paths listed neither here nor under "
        "known fields are schema drift and go to `monlab_schema_drift`.",
        "",
    ]
    for mapping in contract.mappings:
        lines += _mapping_section(mapping)
    if contract.known_fields:
        lines += ["## Known fields that are not mapped", "", "| Stream | Source paths |", "|---|---|"]
        for stream, paths in contract.known_fields.items():
            lines.append(f"| `{stream}` | {', '.join(f'`{path}`' for path in paths)} |")
        lines.append("")
    return "\n".join(lines)


def write_worksheet(contract: Contract, path: Path) -> bool:
    """Write the worksheet to path; return whether the file changed."""
    text = render_worksheet(contract)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def compare_keys(contract: Contract, stream: str, records: list[Any]) -> list[dict[str, Any]]:
    """Return, per payload path of a stream, whether the contract maps it, lists it as known, or not (drift)."""
    from monlab.contract import normalize_path
    from monlab.transform import detect_drift

    mapped = set()
    for mapping in contract.for_stream(stream):
        mapped.update(normalize_path(path) for path in mapping.key)
        mapped.update(normalize_path(spec.path) for spec in mapping.fields if spec.path)
    known = {normalize_path(path) for path in contract.known_fields.get(stream, ())}
    rows = [{"path": path, "status": "mapped"} for path in sorted(mapped)]
    rows += [{"path": path, "status": "known, not mapped"} for path in sorted(known - mapped)]
    rows += [{"path": drift.path, "status": "drift"} for drift in detect_drift(contract, stream, records)]
    return rows
