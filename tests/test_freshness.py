"""Freshness of each feed against its cadence, and the fallback when a source fails."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from monlab import pipeline
from monlab.cache import nodes, run_log
from monlab.freshness import feed_freshness, stale_feeds
from monlab.report import build_report


def replay_run(make_settings, scenario="normal", run_id=None):
    settings = make_settings(sources="uptimerobot,openweather", scenario=scenario)
    run = pipeline.open_run(settings, run_id=run_id)
    pipeline.ingest(run, "monitoring")
    pipeline.ingest(run, "performance")
    return run


def by_mapping(feeds):
    return {feed.mapping_id: feed for feed in feeds}


def test_fresh_right_after_collection(make_settings):
    run = replay_run(make_settings)
    feeds = feed_freshness(run.cache, run.contract, run.as_of, run.settings.sources)
    selected = [mapping for mapping in run.contract.mappings if mapping.source_system in run.settings.sources]
    assert len(feeds) == len(selected)
    assert [feed.mapping_id for feed in feeds if feed.stale] == []


def test_stale_after_grace_of_cadence(make_settings):
    run = replay_run(make_settings)
    # 31 minutes is past 2 x 15 min for alerts and nodes, but within 2 x 30 and 2 x 60 for the rest.
    feeds = by_mapping(feed_freshness(run.cache, run.contract, run.as_of + timedelta(minutes=31), run.settings.sources))
    assert feeds["uptimerobot.down_events"].stale is True
    assert feeds["uptimerobot.monitors"].stale is True
    assert feeds["openweather.locations"].stale is False
    assert feeds["uptimerobot.response_times"].stale is False
    assert "more than 30 min" in feeds["uptimerobot.down_events"].reason


def test_never_collected_feed_is_stale(make_settings):
    settings = make_settings(sources="uptimerobot")
    run = pipeline.open_run(settings)
    feeds = by_mapping(feed_freshness(run.cache, run.contract, run.as_of, ("uptimerobot",)))
    assert feeds["uptimerobot.monitors"].stale is True
    assert feeds["uptimerobot.monitors"].last_success_utc is None


def test_failed_source_keeps_rows_marked_stale(make_settings):
    good = replay_run(make_settings)
    before = good.cache.read(select(func.count()).select_from(nodes))[0]
    settings = make_settings(sources="uptimerobot", scenario="bad_key")
    failed = pipeline.open_run(settings)
    outcomes = pipeline.ingest(failed, "monitoring")
    after = failed.cache.read(select(func.count()).select_from(nodes))[0]
    active = failed.cache.read(select(func.count()).select_from(nodes).where(nodes.c.is_active.is_(True)))[0]
    feeds = by_mapping(stale_feeds(failed.cache, failed.contract, failed.as_of, ("uptimerobot",)))
    assert outcomes[0].status == "failed"
    assert list(after.values()) == list(before.values())
    assert list(active.values()) == list(before.values())
    assert "uptimerobot.monitors" in feeds
    assert feeds["uptimerobot.monitors"].last_error is not None
    assert "latest fetch failed" in feeds["uptimerobot.monitors"].reason


def test_failed_source_reason_has_no_secret(make_settings):
    planted = "ur-planted-secret-7c2e"
    settings = make_settings(sources="uptimerobot", scenario="bad_key", environ={"UPTIMEROBOT_API_KEY": planted})
    run = pipeline.open_run(settings)
    pipeline.ingest(run, "monitoring")
    errors = [row["error"] or "" for row in run.cache.read(select(run_log.c.error))]
    feeds = feed_freshness(run.cache, run.contract, run.as_of, ("uptimerobot",))
    assert all(planted not in error for error in errors)
    assert all(planted not in feed.reason for feed in feeds)


def test_report_stale_warnings_name_failed_feed(make_settings):
    replay_run(make_settings)
    settings = make_settings(sources="uptimerobot", scenario="bad_key")
    failed = pipeline.open_run(settings)
    pipeline.ingest(failed, "monitoring")
    warnings = build_report(failed).sections["Stale data warnings"]
    assert "uptimerobot.monitors" in set(warnings["Feed"])
