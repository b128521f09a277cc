"""The daily ops report, built from the cache alone: xlsx, html and a summary in the run's log file.

Sections: top critical alerts (critical and high, not silenced), down resource summary, instance
health snapshot, stale data warnings, and this run's rejected records and new schema-drift fields.
Each section covers the run's sources only, as the cache knew them at the as-of time. Times are
UTC. Nothing here calls a source API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import load_workbook
from sqlalchemy import select

from monlab.cache import alerts, instances, metrics, nodes, rejects, request_audit, run_log, schema_drift
from monlab import replay
from monlab.freshness import feed_freshness
from monlab.pipeline import Run
from monlab.redact import scrub_text

log = logging.getLogger("monlab.report")

SEVERITY_RANK = {"critical": 0, "high": 1, "warning": 2, "medium": 3, "low": 4, "info": 5}
# Severities the "Top critical alerts" section shows; the others are counted and listed in the xlsx.
CRITICAL_SEVERITIES = ("critical", "high")
SILENCED_STATES = ("suppressed", "silenced")
DOWN_NODE_STATUSES = ("down", "degraded")
DOWN_INSTANCE_HEALTH = ("critical", "down")
TOP_ALERTS = 10
SECTIONS = ("Top critical alerts", "Down resource summary", "Instance health snapshot", "Stale data warnings", "Rejects and schema drift")
# The report lists at most this many rejects; the rest stay in monlab_rejects.
TOP_REJECTS = 20


@dataclass
class Report:
    """The report's tables and summary facts, ready to render."""

    as_of: datetime
    sources: tuple[str, ...]
    sections: dict[str, pd.DataFrame]
    freshness: pd.DataFrame
    summary: dict[str, str] = field(default_factory=dict)
    all_alerts: pd.DataFrame = field(default_factory=pd.DataFrame)


def _utc_text(value: datetime | None) -> str:
    return "" if value is None or pd.isna(value) else value.strftime("%Y-%m-%d %H:%M UTC")


def _hours_between(earlier: datetime | None, later: datetime) -> float | None:
    if earlier is None:
        return None
    return round((later - earlier).total_seconds() / 3600.0, 1)


def _in_scope(run: Run, table):
    """Return the conditions for rows of this run's sources that the cache knew at the as-of time."""
    return (
        table.c.is_active.is_(True),
        table.c.source_system.in_(run.settings.sources),
        table.c.first_seen_utc <= run.as_of,
    )


def active_alerts(run: Run) -> list[dict]:
    """Return the active alerts of this run's sources, most severe and oldest first."""
    rows = run.cache.read(select(alerts).where(*_in_scope(run, alerts)))
    rows.sort(key=lambda row: (SEVERITY_RANK.get((row["severity"] or "").lower(), 9), row["started_at_utc"] or run.as_of, row["entity_key"]))
    return rows


def _is_silenced(row: dict) -> bool:
    return (row["state"] or "").lower() in SILENCED_STATES


def alert_table(rows: list[dict], as_of: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Severity": row["severity"] or "",
                "State": row["state"] or "",
                "Source": row["source_system"],
                "Alert": row["alert_name"] or "",
                "Resource": row["resource"] or "",
                "Summary": row["summary"] or "",
                "Started": _utc_text(row["started_at_utc"]),
                "Open for (h)": _hours_between(row["started_at_utc"], as_of),
            }
            for row in rows
        ],
        columns=["Severity", "State", "Source", "Alert", "Resource", "Summary", "Started", "Open for (h)"],
    )


def top_alerts(run: Run, rows: list[dict] | None = None) -> pd.DataFrame:
    """Return the active, unsilenced critical and high alerts, at most TOP_ALERTS of them."""
    rows = active_alerts(run) if rows is None else rows
    critical = [row for row in rows if (row["severity"] or "").lower() in CRITICAL_SEVERITIES and not _is_silenced(row)]
    return alert_table(critical[:TOP_ALERTS], run.as_of)


def down_resources(run: Run) -> pd.DataFrame:
    node_rows = run.cache.read(select(nodes).where(*_in_scope(run, nodes), nodes.c.status.in_(DOWN_NODE_STATUSES)))
    instance_rows = run.cache.read(select(instances).where(*_in_scope(run, instances), instances.c.health.in_(DOWN_INSTANCE_HEALTH)))
    rows = [
        {"Source": row["source_system"], "Kind": "node", "Name": row["node_name"], "Status": row["status"],
         "Detail": row["status_detail"] or "", "Address": row["address"] or "", "Status changed in cache": _utc_text(row["changed_at_utc"])}
        for row in node_rows
    ] + [
        {"Source": row["source_system"], "Kind": "instance", "Name": row["instance_name"], "Status": row["health"],
         "Detail": row["health_detail"] or "", "Address": row["location"] or "", "Status changed in cache": _utc_text(row["changed_at_utc"])}
        for row in instance_rows
        # Prometheus reports a scrape target both as a node and as an instance: list it once.
        if (row["source_system"], row["instance_name"]) not in {(node["source_system"], node["node_name"]) for node in node_rows}
    ]
    rows.sort(key=lambda row: (row["Status"] != "down", row["Source"], row["Name"] or ""))
    return pd.DataFrame(rows, columns=["Source", "Kind", "Name", "Status", "Detail", "Address", "Status changed in cache"])


def _latest_metrics(run: Run) -> dict[tuple[str, str], str]:
    """Return, per (source, entity), the latest value of each metric as short text."""
    rows = run.cache.read(select(metrics).where(metrics.c.observed_at_utc <= run.as_of))
    latest: dict[tuple[str, str, str], dict] = {}
    for row in rows:
        key = (row["source_system"], row["entity_key"], row["metric_name"])
        if key not in latest or row["observed_at_utc"] > latest[key]["observed_at_utc"]:
            latest[key] = row
    texts: dict[tuple[str, str], list[str]] = {}
    for (source, entity, name), row in sorted(latest.items()):
        value = row["value_text"] if row["value"] is None else f"{row['value']:g}"
        texts.setdefault((source, entity), []).append(f"{name} {value} {row['unit'] or ''}".strip())
    return {key: "; ".join(parts) for key, parts in texts.items()}


def instance_health(run: Run) -> pd.DataFrame:
    rows = run.cache.read(select(instances).where(*_in_scope(run, instances)))
    latest = _latest_metrics(run)
    rows.sort(key=lambda row: (row["source_system"], row["instance_name"] or ""))
    return pd.DataFrame(
        [
            {
                "Source": row["source_system"],
                "Instance": row["instance_name"],
                "Type": row["instance_type"],
                "Health": row["health"],
                "Detail": row["health_detail"] or "",
                "Observed": _utc_text(row["observed_at_utc"]),
                "Latest metrics": latest.get((row["source_system"], row["entity_key"]), ""),
            }
            for row in rows
        ],
        columns=["Source", "Instance", "Type", "Health", "Detail", "Observed", "Latest metrics"],
    )


def _run_problems(run: Run) -> list[dict]:
    rows = run.cache.read(
        select(run_log).where(run_log.c.run_id == run.run_id, run_log.c.step.in_(("fetch", "preflight")), run_log.c.status != "ok")
    )
    return [
        {"Source": row["source_system"], "Feed": row["step"], "Warning": f"{row['status']} in this run",
         "Detail": scrub_text(row["error"] or ""), "Last good collection": ""}
        for row in rows
    ]


def stale_warnings(run: Run, freshness: pd.DataFrame) -> pd.DataFrame:
    rows = _run_problems(run)
    for feed in freshness.to_dict("records"):
        if feed["Stale"]:
            rows.append({"Source": feed["Source"], "Feed": feed["Mapping"], "Warning": "stale", "Detail": feed["Reason"], "Last good collection": feed["Last good collection"]})
    return pd.DataFrame(rows, columns=["Source", "Feed", "Warning", "Detail", "Last good collection"])


def freshness_table(run: Run) -> pd.DataFrame:
    feeds = [
        feed for feed in feed_freshness(run.cache, run.contract, run.as_of, run.settings.sources)
        if feed.source_system in run.settings.sources
    ]
    return pd.DataFrame(
        [
            {"Source": feed.source_system, "Mapping": feed.mapping_id, "Table": feed.table, "Cadence (min)": feed.cadence_minutes,
             "Last good collection": _utc_text(feed.last_success_utc), "Stale": feed.stale, "Reason": feed.reason}
            for feed in feeds
        ],
        columns=["Source", "Mapping", "Table", "Cadence (min)", "Last good collection", "Stale", "Reason"],
    )


def contract_problems(run: Run) -> tuple[pd.DataFrame, int, int]:
    """Return this run's rejects and new drift fields as one table, with the two counts."""
    rejected = run.cache.read(select(rejects).where(rejects.c.run_id == run.run_id).order_by(rejects.c.id))
    drifted = run.cache.read(
        select(schema_drift).where(schema_drift.c.first_run_id == run.run_id).order_by(schema_drift.c.source_system, schema_drift.c.stream, schema_drift.c.field_path)
    )
    rows = [
        {"Kind": "reject", "Source": row["source_system"], "Feed": row["mapping_id"], "Key or field": row["entity_key"] or "unknown",
         "Detail": scrub_text(row["reason"])}
        for row in rejected[:TOP_REJECTS]
    ] + [
        {"Kind": "new drift field", "Source": row["source_system"], "Feed": row["stream"], "Key or field": row["field_path"],
         "Detail": f"type {row['types_seen']}, in {row['seen_count']} records"}
        for row in drifted
    ]
    frame = pd.DataFrame(rows, columns=["Kind", "Source", "Feed", "Key or field", "Detail"])
    return frame, len(rejected), len(drifted)


def _request_summary(run: Run) -> str:
    entries = run.cache.read(select(request_audit).where(request_audit.c.run_id == run.run_id))
    if not entries:
        return "no requests in this run"
    refused = sum(1 for entry in entries if entry["outcome"] == "refused")
    sent = len(entries) - refused
    noun = "request" if sent == 1 else "requests"
    if not refused:
        return f"{sent} {noun} in this run, all on the allowlist (anything else is refused before sending)"
    return f"{sent} {noun} in this run, all on the allowlist; {refused} refused before sending because they were not on it"


def _replay_clock_note(run: Run) -> str | None:
    """Return a warning when the replayed cassettes were recorded at different times, else None."""
    if run.settings.mode != "replay":
        return None
    recorded = {source: replay.request_clock(run.settings, source, run.as_of) for source in run.settings.sources}
    if len(set(recorded.values())) < 2:
        return None
    times = ", ".join(f"{source} {_utc_text(moment)}" for source, moment in recorded.items())
    return (
        f"the cassettes were recorded at different times ({times}); ages and freshness are measured from the "
        "latest, so data from the older recordings looks older than it was"
    )


def build_report(run: Run) -> Report:
    freshness = freshness_table(run)
    alert_rows = active_alerts(run)
    sections = {
        SECTIONS[0]: top_alerts(run, alert_rows),
        SECTIONS[1]: down_resources(run),
        SECTIONS[2]: instance_health(run),
        SECTIONS[3]: stale_warnings(run, freshness),
    }
    problems, rejected, drifted = contract_problems(run)
    sections[SECTIONS[4]] = problems
    silenced = sum(1 for row in alert_rows if _is_silenced(row))
    summary = {
        "As of": _utc_text(run.as_of),
        "Mode": run.settings.mode,
        "Sources": ", ".join(run.settings.sources),
        "Active critical and high alerts": str(len(sections[SECTIONS[0]])),
        "Other active alerts": f"{len(alert_rows) - silenced - len(sections[SECTIONS[0]])} (every active alert is in the xlsx sheet 'All active alerts')",
        "Silenced alerts": str(silenced),
        "Down or degraded resources": str(len(sections[SECTIONS[1]])),
        "Instances": str(len(sections[SECTIONS[2]])),
        "Stale or failed feeds": str(len(sections[SECTIONS[3]])),
        "Rejected records": str(rejected),
        "New drift fields": str(drifted),
        "Requests": _request_summary(run),
    }
    note = _replay_clock_note(run)
    if note:
        summary["Replay note"] = note
    return Report(
        as_of=run.as_of, sources=run.settings.sources, sections=sections, freshness=freshness, summary=summary,
        all_alerts=alert_table(alert_rows, run.as_of),
    )


def _sheet_name(title: str) -> str:
    return title[:31]


def _scrubbed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda value: scrub_text(value) if isinstance(value, str) else value)


UTC_TEXT_FORMAT = "%Y-%m-%d %H:%M UTC"


def _for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with UTC time texts as real times, so a spreadsheet can sort and filter them.

    Excel has no time zones, so the times are written as naive UTC and their header says "(UTC)".
    """
    frame = _scrubbed(frame)
    for column in list(frame.columns):
        values = frame[column]
        texts = [value for value in values if isinstance(value, str) and value]
        if not texts or not all(value.endswith(" UTC") for value in texts):
            continue
        parsed = pd.to_datetime(values.replace("", None), format=UTC_TEXT_FORMAT, errors="coerce")
        if parsed.notna().sum() == len(texts):
            frame[column] = parsed
            frame = frame.rename(columns={column: f"{column} (UTC)"})
    return frame


def _summary_value(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _format_sheets(path: Path) -> None:
    """Freeze each sheet's header row, add filters and size the columns to their content."""
    workbook = load_workbook(path)
    for sheet in workbook.worksheets:
        sheet.freeze_panes = "A2"
        if sheet.max_row > 1:
            sheet.auto_filter.ref = sheet.dimensions
        for cells in sheet.columns:
            width = max(len(str(cell.value)) if cell.value is not None else 0 for cell in cells)
            sheet.column_dimensions[cells[0].column_letter].width = min(max(width + 2, 10), 80)
            for cell in cells[1:]:
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
    workbook.save(path)


def write_xlsx(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        summary = pd.DataFrame([(item, _summary_value(value)) for item, value in report.summary.items()], columns=["Item", "Value"])
        _scrubbed(summary).to_excel(writer, sheet_name="Summary", index=False)
        for title, frame in report.sections.items():
            _for_spreadsheet(frame).to_excel(writer, sheet_name=_sheet_name(title), index=False)
        _for_spreadsheet(report.all_alerts).to_excel(writer, sheet_name="All active alerts", index=False)
        _for_spreadsheet(report.freshness).to_excel(writer, sheet_name="Freshness", index=False)
    _format_sheets(path)


def cell_text(value) -> str:
    """Render one table cell: nothing for missing values (None, NaN), yes or no for booleans."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


def render_html(report: Report) -> str:
    environment = Environment(loader=PackageLoader("monlab", "templates"), autoescape=select_autoescape(["html"]))
    environment.globals["zip"] = zip
    environment.filters["cell"] = cell_text
    template = environment.get_template("report.html")
    return template.render(report=report, empty_messages={
        SECTIONS[0]: "No active critical alert.",
        SECTIONS[1]: "No resource is down.",
        SECTIONS[2]: "No instance in the cache.",
        SECTIONS[3]: "Every feed is fresh and every source was read in this run.",
        SECTIONS[4]: "No record was rejected and no new payload field appeared in this run.",
    })


def write_html(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scrub_text(render_html(report)), encoding="utf-8")


def log_summary(report: Report) -> None:
    log.info("report as of %s for sources %s", report.summary["As of"], report.summary["Sources"])
    log.info("requests: %s", report.summary["Requests"])
    for title, frame in report.sections.items():
        log.info("%s: %d rows", title, len(frame))
    for row in report.sections[SECTIONS[3]].itertuples(index=False):
        log.warning("stale data warning: %s %s: %s (%s)", row.Source, row.Feed, row.Warning, row.Detail)


def write_report(run: Run) -> dict[str, Path]:
    """Build the report from the cache and write the xlsx and html files; return their paths."""
    report = build_report(run)
    output_dir = run.settings.output_dir
    paths = {"xlsx": output_dir / "monitoring_daily.xlsx", "html": output_dir / "monitoring_daily.html"}
    write_xlsx(report, paths["xlsx"])
    write_html(report, paths["html"])
    log_summary(report)
    return paths
