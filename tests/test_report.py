"""The report's scope and rendering: the run's sources only, silenced alerts apart, empty cells empty."""

from __future__ import annotations

import math

from monlab import pipeline, report


def ingest_all(run) -> None:
    pipeline.ingest(run, "monitoring")
    pipeline.ingest(run, "performance")


def test_report_covers_only_run_sources(make_settings):
    ingest_all(pipeline.open_run(make_settings(sources="prometheus,openweather")))
    run = pipeline.open_run(make_settings())
    ingest_all(run)
    daily = report.build_report(run)
    for title, frame in daily.sections.items():
        if "Source" in frame.columns:
            assert set(frame["Source"]) <= {"uptimerobot", "openweather"}, title
    assert set(daily.freshness["Source"]) == {"uptimerobot", "openweather"}
    assert set(daily.all_alerts["Source"]) == {"uptimerobot"}


def test_silenced_alert_not_in_top_alerts(make_settings):
    run = pipeline.open_run(make_settings(sources="prometheus"))
    pipeline.ingest(run, "monitoring")
    daily = report.build_report(run)
    top = daily.sections["Top critical alerts"]
    assert list(top["Alert"]) == ["TargetDown"]
    assert daily.summary["Silenced alerts"] == "1"
    assert "suppressed" in set(daily.all_alerts["State"])


def test_rows_first_seen_after_as_of_are_left_out(make_settings):
    ingest_all(pipeline.open_run(make_settings()))
    earlier = pipeline.open_run(make_settings(as_of="2026-11-30T00:00:00Z"))
    daily = report.build_report(earlier)
    assert daily.sections["Top critical alerts"].empty
    assert daily.sections["Instance health snapshot"].empty


def test_cell_text_renders_missing_values_empty():
    assert report.cell_text(None) == ""
    assert report.cell_text(math.nan) == ""
    assert report.cell_text(True) == "yes"
    assert report.cell_text(False) == "no"
    assert report.cell_text(1.5) == "1.5"


def test_down_target_listed_once(make_settings):
    run = pipeline.open_run(make_settings(sources="prometheus"))
    pipeline.ingest(run, "monitoring")
    down = report.build_report(run).sections["Down resource summary"]
    assert list(down["Name"]).count("127.0.0.1:19199") == 1


def test_mixed_recording_times_are_noted(make_settings):
    run = pipeline.open_run(make_settings(sources="uptimerobot,prometheus"))
    ingest_all(run)
    note = report.build_report(run).summary["Replay note"]
    assert "recorded at different times" in note
    assert "uptimerobot 2026-12-01 06:00 UTC" in note


def test_same_recording_time_has_no_note(make_settings):
    run = pipeline.open_run(make_settings())
    ingest_all(run)
    assert "Replay note" not in report.build_report(run).summary


def test_xlsx_times_are_real_times(make_settings, tmp_path):
    from datetime import datetime

    from openpyxl import load_workbook

    run = pipeline.open_run(make_settings())
    ingest_all(run)
    path = report.write_report(run)["xlsx"]
    sheet = load_workbook(path)["Top critical alerts"]
    header = [cell.value for cell in sheet[1]]
    started = header.index("Started (UTC)") + 1
    assert sheet.cell(row=2, column=started).value == datetime(2026, 12, 1, 4, 25)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref is not None
    summary = {row[0].value: row[1].value for row in load_workbook(path)["Summary"].iter_rows(min_row=2)}
    assert summary["Instances"] == 3
