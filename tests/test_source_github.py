"""The github source: replay of the documented cassettes, and a loopback fake for paging, ETags and errors."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from sqlalchemy import select

from monlab import pipeline
from monlab.cache import alerts, instances, metrics, nodes
from monlab.drills import FakeClock
from monlab.errors import SourceDeferred, SourceError
from monlab.fetch import GuardedClient
from monlab.policy import load_policy
from monlab.sources import SourceContext, StreamBatch, github
from monlab.sources.etag_store import etags
from source_fakes import FakeAPI, Received, in_turn

TOKEN = "ghp_plantedFakeSecret0123456789"
REPO = "octo-org/checkout-service"
BASE = "/api/v3"  # a GitHub Enterprise Server base path


def table_rows(run, table, prefix: str = "") -> dict[str, dict]:
    found = run.cache.read(select(table).where(table.c.source_system == "github"))
    return {row["entity_key"]: row for row in found if row["entity_key"].startswith(prefix)}


def workflow_run(run_id: int, conclusion, branch: str = "main", status: str = "completed") -> dict:
    return {
        "id": run_id, "name": "CI", "workflow_id": 11, "head_branch": branch, "status": status,
        "conclusion": conclusion, "display_title": f"commit {run_id}",
        "run_started_at": "2026-11-30T10:00:00Z", "updated_at": f"2026-11-30T10:{run_id % 60:02d}:00Z",
    }


class FakeGitHub:
    """Routes of a GitHub Enterprise API with ETags, Link paging and rate-limit headers."""

    def __init__(self):
        self.etag_hits = 0
        self.repo_status = 200
        self.page_two = [workflow_run(2, "timed_out", branch="feature"), workflow_run(3, None, status="in_progress"), workflow_run(4, "startup_failure")]

    def headers(self, remaining: int) -> dict[str, str]:
        return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining), "x-ratelimit-used": str(5000 - remaining),
                "x-ratelimit-reset": "1796108400", "x-ratelimit-resource": "core"}

    def conditional(self, etag: str, body, extra=None):
        def route(request: Received):
            if request.headers.get("if-none-match") == etag:
                self.etag_hits += 1
                return 304, {**self.headers(4990), "ETag": etag, **(extra or {})}, None
            return 200, {**self.headers(4991), "ETag": etag, **(extra or {})}, body
        return route

    def routes(self, url: str) -> dict:
        repo = {"full_name": REPO, "default_branch": "main", "archived": False, "html_url": f"https://github.example/{REPO}", "pushed_at": "2026-11-30T09:00:00Z"}
        runs_path = f"{BASE}/repos/{REPO}/actions/runs"

        def runs(request: Received):
            if request.query.get("page") == ["2"]:
                return 200, self.headers(4992), {"total_count": 4, "workflow_runs": self.page_two}
            link = f'<{url}{runs_path}?per_page=100&page=2>; rel="next", <{url}{runs_path}?per_page=100&page=2>; rel="last"'
            return self.conditional('W/"runs-1"', {"total_count": 4, "workflow_runs": [workflow_run(1, "failure")]}, {"Link": link})(request)

        def repository(request: Received):
            if self.repo_status != 200:
                return self.repo_status, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            return self.conditional('"repo-1"', repo)(request)

        return {
            ("GET", f"{BASE}/repos/{REPO}"): repository,
            ("GET", runs_path): runs,
            ("GET", f"{BASE}/repos/{REPO}/actions/runners"): lambda request: (200, {}, {"total_count": 1, "runners": [{"id": 7, "name": "build-1", "os": "linux", "status": "online", "busy": True}]}),
            ("GET", f"{BASE}/repos/{REPO}/dependabot/alerts"): lambda request: (403, {}, {"message": "Dependabot alerts are disabled for this repository."}),
            ("GET", f"{BASE}/repos/{REPO}/code-scanning/alerts"): lambda request: (200, {}, [
                {"number": 5, "state": None, "created_at": "2026-11-01T00:00:00Z", "rule": {"id": "py/sql-injection", "severity": "error", "security_severity_level": "high", "description": "SQL injection"}, "most_recent_instance": {"location": {"path": "app/db.py"}, "message": {"text": "query built from input"}}},
                {"number": 6, "state": "open", "created_at": "2026-11-02T00:00:00Z", "rule": {"id": "py/unused", "severity": "note", "security_severity_level": None, "description": "Unused import"}},
            ]),
            ("GET", f"{BASE}/orgs/octo-org/actions/runners"): lambda request: (200, {}, {"total_count": 1, "runners": [{"id": 8, "name": "org-runner", "os": "linux", "status": "offline", "busy": False}]}),
        }


def open_live(make_settings, fake: FakeAPI, tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(f"sources:\n  github:\n    repositories: [{REPO}]\n    organization: octo-org\n    workflow_runs_days: 7\n", encoding="utf-8")
    environ = {"GITHUB_API_URL": fake.url + BASE, "GITHUB_TOKEN": TOKEN, "MONLAB_CONFIG": str(config)}
    return pipeline.open_run(make_settings(mode="live", sources="github", as_of="2026-12-01T06:00:00Z", environ=environ))


def test_live_headers_and_paging(make_settings, tmp_path):
    github = FakeGitHub()
    with FakeAPI({}) as fake:
        fake.routes.update(github.routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        outcome = pipeline.ingest_source(run, "github")
    first = fake.received(f"{BASE}/repos/{REPO}")[0]
    pages = fake.received(f"{BASE}/repos/{REPO}/actions/runs")

    assert outcome.status == "ok", outcome.error
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["accept"] == "application/vnd.github+json"
    assert first.headers["x-github-api-version"] == "2022-11-28"
    assert "monlab" in first.headers["user-agent"]
    assert len(pages) == 2
    assert pages[0].query["per_page"] == ["100"]
    assert pages[0].query["created"] == [">=2026-11-24"]


def test_live_run_alerts_and_severity(make_settings, tmp_path):
    github = FakeGitHub()
    with FakeAPI({}) as fake:
        fake.routes.update(github.routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        pipeline.ingest_source(run, "github")
    stored = table_rows(run, alerts, "run:")

    assert set(stored) == {f"run:{REPO}:1", f"run:{REPO}:2", f"run:{REPO}:4"}
    assert stored[f"run:{REPO}:1"]["severity"] == "critical"
    assert stored[f"run:{REPO}:2"]["severity"] == "warning"
    assert stored[f"run:{REPO}:2"]["state"] == "timed_out"
    assert stored[f"run:{REPO}:4"]["state"] == "startup_failure"
    assert table_rows(run, instances)[REPO]["health"] == "critical"


def test_live_runners_and_code_scanning(make_settings, tmp_path):
    github = FakeGitHub()
    with FakeAPI({}) as fake:
        fake.routes.update(github.routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        outcome = pipeline.ingest_source(run, "github")
    runners = table_rows(run, nodes)
    scanning = table_rows(run, alerts, "code-scanning:")

    assert runners["runner:7"]["status"] == "up"
    assert runners["runner:7"]["status_detail"] == "online, busy"
    assert runners["runner:8"]["status"] == "down"
    assert scanning[f"code-scanning:{REPO}:5"]["severity"] == "high"
    assert scanning[f"code-scanning:{REPO}:5"]["state"] == "unknown"
    assert scanning[f"code-scanning:{REPO}:6"]["severity"] == "note"
    assert any("Dependabot" in note and "disabled" in note for note in outcome.notes)
    assert table_rows(run, alerts, "dependabot:") == {}


def test_live_rate_limit_metrics(make_settings, tmp_path):
    github = FakeGitHub()
    with FakeAPI({}) as fake:
        fake.routes.update(github.routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        pipeline.ingest_source(run, "github")
    stored = run.cache.read(select(metrics).where(metrics.c.entity_key == "github:rate_limit:core"))
    by_name = {row["metric_name"]: row for row in stored}

    assert by_name["x-ratelimit-limit"]["value"] == 5000
    assert by_name["x-ratelimit-remaining"]["unit"] == "requests"
    assert by_name["x-ratelimit-reset"]["unit"] == "unix_s"


def test_live_etag_304_keeps_rows(make_settings, tmp_path):
    github = FakeGitHub()
    with FakeAPI({}) as fake:
        fake.routes.update(github.routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        pipeline.ingest_source(run, "github")
        github.page_two = []  # would drop runs 2-4 if page one were not a 304
        second = pipeline.ingest_source(run, "github")
    conditional = [request for request in fake.requests if "if-none-match" in request.headers]
    stored = run.cache.read(select(etags.c.request_key, etags.c.etag))

    assert github.etag_hits == 2
    assert {request.headers["if-none-match"] for request in conditional} == {'W/"runs-1"', '"repo-1"'}
    assert second.writes["github.workflow_runs"].inactivated == 0
    assert table_rows(run, alerts, "run:")[f"run:{REPO}:2"]["is_active"] is True
    assert table_rows(run, instances)[REPO]["is_active"] is True
    assert len(stored) == 2


def test_live_unknown_repository_is_partial(make_settings, tmp_path):
    github = FakeGitHub()
    github.repo_status = 404
    with FakeAPI({}) as fake:
        fake.routes.update(github.routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        outcome = pipeline.ingest_source(run, "github")

    assert outcome.status == "partial"
    assert any("Not Found" in note for note in outcome.notes)
    assert "runner:8" in table_rows(run, nodes)
    assert table_rows(run, instances) == {}


def test_live_token_never_stored(make_settings, tmp_path):
    github = FakeGitHub()
    with FakeAPI({}) as fake:
        fake.routes.update(github.routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        pipeline.ingest_source(run, "github")
    dump = "\n".join(run.cache.engine.raw_connection().driver_connection.iterdump())

    assert TOKEN not in dump


SECONDARY_LIMIT = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}


def direct_context(make_settings, fake: FakeAPI, tmp_path, clock: FakeClock, max_wait_s: float | None = None) -> SourceContext:
    """Return a context whose client sleeps on `clock`, optionally with a lower cap on server waits."""
    config = tmp_path / "config.yml"
    config.write_text(f"sources:\n  github:\n    repositories: [{REPO}]\n", encoding="utf-8")
    environ = {"GITHUB_API_URL": fake.url + BASE, "GITHUB_TOKEN": TOKEN, "MONLAB_CONFIG": str(config)}
    settings = make_settings(mode="live", sources="github", environ=environ)
    policy = load_policy(settings.policy_path).for_source("github")
    if max_wait_s is not None:
        policy = dataclasses.replace(policy, retry=dataclasses.replace(policy.retry, max_wait_s=max_wait_s))
    client = GuardedClient(policy, "github", fake.url + BASE, headers=github.headers(settings), clock=clock)
    as_of = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)
    return SourceContext(settings=settings, clients={"github": client}, as_of=as_of, options=settings.options("github"))


def collect_until_error(context: SourceContext) -> tuple[list, Exception | None]:
    items = []
    try:
        for item in github.collect(context):
            items.append(item)
    except SourceError as exc:
        return items, exc
    return items, None


def secondary_limit_then_repo(github_fake: FakeGitHub, url: str) -> dict:
    routes = github_fake.routes(url)
    limited = (403, github_fake.headers(4990), SECONDARY_LIMIT)
    ok = (200, github_fake.headers(4989), {"full_name": REPO, "default_branch": "main", "archived": False})
    routes[("GET", f"{BASE}/repos/{REPO}")] = in_turn(limited, ok)
    return routes


def test_secondary_limit_over_cap_deferred(make_settings, tmp_path):
    clock = FakeClock()
    with FakeAPI({}) as fake:
        fake.routes.update(secondary_limit_then_repo(FakeGitHub(), fake.url))
        context = direct_context(make_settings, fake, tmp_path, clock, max_wait_s=30)
        items, error = collect_until_error(context)
    limits = [record for item in items if isinstance(item, StreamBatch) for record in item.records]

    assert isinstance(error, SourceDeferred)
    assert error.status == "deferred"
    assert error.wait_s >= 60
    assert "more than the policy's 30 s" in str(error)
    assert clock.sleeps == []
    assert len(fake.received(f"{BASE}/repos/{REPO}")) == 1
    assert {"resource": "core", "name": "x-ratelimit-remaining", "value": "4990", "observed_at": "2026-12-01T06:00:00+00:00"} in limits


def test_secondary_limit_waits_a_minute(make_settings, tmp_path):
    clock = FakeClock()
    with FakeAPI({}) as fake:
        fake.routes.update(secondary_limit_then_repo(FakeGitHub(), fake.url))
        context = direct_context(make_settings, fake, tmp_path, clock)
        items, error = collect_until_error(context)
    repositories = [record for item in items if isinstance(item, StreamBatch) and item.stream == "github.repositories" for record in item.records]

    assert error is None
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 60
    assert len(fake.received(f"{BASE}/repos/{REPO}")) == 2
    assert [record["full_name"] for record in repositories] == [REPO]


def test_error_names_endpoint_template(make_settings, tmp_path):
    github_fake = FakeGitHub()
    github_fake.repo_status = 404
    with FakeAPI({}) as fake:
        fake.routes.update(github_fake.routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        outcome = pipeline.ingest_source(run, "github")
    note = next(note for note in outcome.notes if note.startswith("repository"))

    assert outcome.status == "partial"
    assert "github /repos/{owner}/{repo}: HTTP 404" in note
    assert f"/repos/{REPO}" not in note
    assert note.startswith(f"repository {REPO}:")


def test_skipped_feature_names_template(make_settings, tmp_path):
    with FakeAPI({}) as fake:
        fake.routes.update(FakeGitHub().routes(fake.url))
        run = open_live(make_settings, fake, tmp_path)
        outcome = pipeline.ingest_source(run, "github")
    note = next(note for note in outcome.notes if "Dependabot" in note)

    assert "/repos/{owner}/{repo}/dependabot/alerts" in note
    assert f"/repos/{REPO}/dependabot" not in note
    assert table_rows(run, alerts, "dependabot:") == {}
