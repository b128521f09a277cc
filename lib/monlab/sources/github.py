"""GitHub REST: repositories as instances, Actions runs as alerts and metrics, runners as nodes, security alerts.

GITHUB_API_URL sets the base URL (https://api.github.com, or https://HOST/api/v3 for GitHub
Enterprise Server); the allowlist paths are relative to it. Lists are paged by the Link header,
100 items per page. Every GET is conditional: the ETag of the last 200 is kept in the cache
database (monlab_etags), and a 304 response, which spends no quota, re-reads the stored body. A
stream that met a 304 is written with complete=False, so a run never marks rows inactive on the
strength of a stored body. The x-ratelimit-* headers become metrics of the entity
github:rate_limit:<resource>.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

from monlab.config import Settings
from monlab.errors import AuthError, ConfigError, ResponseFormatError, SourceDeferred, SourceError, SourceUnavailable
from monlab.fetch import decode_json, describe_error_body
from monlab.sources import SourceContext, SourceNote, StreamBatch
from monlab.sources.etag_store import EtagStore, request_key

NAME = "github"
ROLE = "monitoring"
SERVICES = ("github",)

PER_PAGE = 100  # the largest page GitHub serves
API_VERSION = "2022-11-28"
RATE_LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset")
# Conclusions that raise an alert; any other value, null or one GitHub adds later, raises none.
FAILED_CONCLUSIONS = ("failure", "startup_failure")
ALERTING_CONCLUSIONS = (*FAILED_CONCLUSIONS, "timed_out")
HEALTHY_CONCLUSIONS = ("success", "neutral", "skipped")
# GitHub sends no retry-after with some secondary rate limits, and its documentation says to wait at least a minute then.
SECONDARY_LIMIT_WAIT_S = 60.0
# Errors that end the whole source: a rejected token, a rate limit, or a server failing every retry.
# Any other error of one endpoint becomes a note and the other endpoints are still read.
FATAL_ERRORS = (AuthError, SourceDeferred, SourceUnavailable)


class NotAvailable(SourceError):
    """An endpoint returned 403 or 404: not visible to this token, or the feature is off."""

    status = "skipped"


def headers(settings: Settings) -> dict[str, str]:
    """Return the headers of every GitHub request; Authorization only when a token is set."""
    sent = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
    token = settings.credential(NAME).reveal()
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return sent


@dataclass
class Listing:
    """The items of every page of one list, and whether they are the whole current list."""

    items: list[Any] = field(default_factory=list)
    complete: bool = True
    not_modified: bool = False


class GitHubReader:
    """Conditional, paged GETs of one run, with the rate-limit headers they returned."""

    def __init__(self, context: SourceContext):
        self.context = context
        self.client = context.client("github")
        self.store = EtagStore(context.cache, NAME) if context.cache is not None else None
        self.rate_limits: dict[str, dict[str, str]] = {}
        self.max_pages = int(context.options.get("max_pages", 10))

    def _note_rate_limit_headers(self, headers) -> None:
        values = {name: headers[name] for name in RATE_LIMIT_HEADERS if name in headers}
        if values:
            self.rate_limits[headers.get("x-ratelimit-resource", "core")] = values

    def _raise_for_limit(self, response, template: str) -> None:
        """Raise SourceDeferred for a primary or secondary rate limit sent as 403 or 429."""
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining == "0":
            reset = response.headers.get("x-ratelimit-reset", "")
            # Measured from the run's clock, which replay freezes at the cassette's recording time.
            now = self.context.as_of.timestamp()
            wait = max(0.0, float(reset) - now) if reset.isdigit() else SECONDARY_LIMIT_WAIT_S
            raise SourceDeferred(NAME, f"HTTP {response.status_code}: primary rate limit used up; it resets in {wait:.0f} s", wait_s=wait, endpoint=template, http_status=response.status_code)
        detail = describe_error_body(response)
        if "rate limit" in detail.lower() or "retry-after" in response.headers:
            retry_after = response.headers.get("retry-after", "")
            wait = float(retry_after) if retry_after.isdigit() else SECONDARY_LIMIT_WAIT_S
            raise SourceDeferred(NAME, f"HTTP {response.status_code}: secondary rate limit: {detail}", wait_s=wait, endpoint=template, http_status=response.status_code)

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, str | None, bool]:
        """Return (body, next page URL, not_modified) of one conditional GET."""
        # Errors name the endpoint template (/repos/{owner}/{repo}), as the guarded client's do, so
        # the same failure reads the same for every repository; callers add the repository name.
        template = self.client.check("GET", path)
        key = request_key(path, params)
        stored = self.store.get(key) if self.store is not None else None
        sent = {"If-None-Match": stored.etag} if stored is not None else {}
        try:
            response = self.client.request("GET", path, params=params, headers=sent, ok_statuses=frozenset({304, 403, 404}))
        except AuthError as exc:
            raise AuthError(
                NAME, f"{exc.args[0].split(': ', 1)[-1]}: check GITHUB_TOKEN and that it may read this repository",
                endpoint=exc.endpoint, http_status=exc.http_status,
            ) from None
        except SourceError as exc:
            # A deferred or failed request still reports how much quota is left.
            self._note_rate_limit_headers(exc.response_headers)
            raise
        self._note_rate_limit_headers(response.headers)

        if response.status_code == 304 and stored is not None:
            return stored.body, stored.next_url, True
        if response.status_code == 304:
            raise ResponseFormatError(NAME, "HTTP 304 to a request that sent no If-None-Match", endpoint=template, http_status=304)
        if response.status_code in (403, 404):
            self._raise_for_limit(response, template)
            raise NotAvailable(NAME, f"HTTP {response.status_code}: {describe_error_body(response)}", endpoint=template, http_status=response.status_code)

        body = decode_json(response, NAME, template)
        next_url = response.links.get("next", {}).get("url")
        if next_url and "{" in next_url:
            next_url = None  # a URI template, not a page URL
        etag = response.headers.get("ETag")
        if etag and self.store is not None:
            self.store.put(key, etag, body, next_url, self.context.as_of)
        return body, next_url, False

    def get_list(self, path: str, params: dict[str, Any], extract: Callable[[Any], list[Any]]) -> Listing:
        """Read every page of a list by following rel="next", up to max_pages pages."""
        listing = Listing()
        target, query = path, {**params, "per_page": PER_PAGE}
        for _ in range(self.max_pages):
            body, next_url, not_modified = self.get(target, query)
            items = extract(body)
            if not isinstance(items, list):
                raise ResponseFormatError(NAME, "the page does not contain the expected list", endpoint=self.client.check("GET", target))
            listing.items.extend(items)
            listing.not_modified = listing.not_modified or not_modified
            if not next_url:
                listing.complete = not listing.not_modified
                return listing
            # The next URL carries every query parameter itself.
            target, query = next_url, None
        listing.complete = False
        return listing

    def rate_limit_records(self) -> list[dict[str, Any]]:
        observed = self.context.as_of.isoformat()
        return [
            {"resource": resource, "name": name, "value": value, "observed_at": observed}
            for resource, values in sorted(self.rate_limits.items())
            for name, value in values.items()
        ]


def configured_repositories(context: SourceContext) -> list[str]:
    repositories = context.options.get("repositories") or []
    for index, name in enumerate(repositories):
        if not isinstance(name, str) or name.count("/") != 1 or not all(name.split("/")):
            raise ConfigError(f"sources.github.repositories[{index}]: expected owner/name, found {name!r}")
    if not repositories and not context.options.get("organization"):
        raise ConfigError("sources.github: add repositories (owner/name) or an organization to data/config.yml")
    return list(repositories)


def run_severity(run: dict[str, Any], default_branch: str | None) -> str:
    """Derive an alert severity: a failed run on the default branch is critical, else warning."""
    if run.get("conclusion") in FAILED_CONCLUSIONS and run.get("head_branch") == default_branch:
        return "critical"
    return "warning"


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def run_duration_s(run: dict[str, Any]) -> float | None:
    """Seconds from run_started_at to updated_at of a completed run; None when either is missing."""
    started, finished = _parse_time(run.get("run_started_at")), _parse_time(run.get("updated_at"))
    if run.get("status") != "completed" or started is None or finished is None:
        return None
    return (finished - started).total_seconds()


def repository_health(repo: dict[str, Any], runs: list[dict[str, Any]] | None) -> tuple[str, str]:
    """Return (health, detail): the latest completed run on the default branch decides.

    A failed or timed-out run is critical, success, neutral or skipped is ok, and any other
    conclusion (cancelled, action_required, one not known yet) is warning.
    """
    if repo.get("archived"):
        return "warning", "archived"
    if runs is None:
        return "unknown", "workflow runs not read"
    default_runs = [run for run in runs if run.get("head_branch") == repo.get("default_branch") and run.get("status") == "completed"]
    if not default_runs:
        return "ok", "no completed run on the default branch in the window"
    latest = max(default_runs, key=lambda run: run.get("updated_at") or "")
    conclusion = latest.get("conclusion") or "unknown"
    if conclusion in ALERTING_CONCLUSIONS:
        health = "critical"
    elif conclusion in HEALTHY_CONCLUSIONS:
        health = "ok"
    else:
        health = "warning"
    return health, f"latest run on {repo.get('default_branch')}: {latest.get('name')} {conclusion}"


def _note_for(exc: SourceError, what: str) -> SourceNote:
    if isinstance(exc, NotAvailable):
        return SourceNote("skipped", f"{what}: not available to this token or not enabled ({exc})")
    return SourceNote("partial", f"{what}: {exc}")


class Streams:
    """Records per stream, and whether each stream was read completely for every repository."""

    def __init__(self):
        self.records: dict[str, list[Any]] = {}
        self.complete: dict[str, bool] = {}

    def add(self, stream: str, records: list[Any], complete: bool) -> None:
        self.records.setdefault(stream, []).extend(records)
        self.complete[stream] = self.complete.get(stream, True) and complete

    def mark_incomplete(self, stream: str) -> None:
        self.records.setdefault(stream, [])
        self.complete[stream] = False


def read_repository(reader: GitHubReader, full_name: str, streams: Streams, since: str) -> Iterator[SourceNote]:
    path = f"/repos/{full_name}"
    try:
        repo, _, _ = reader.get(path)
    except FATAL_ERRORS:
        raise
    except SourceError as exc:
        yield SourceNote("partial", f"repository {full_name}: {exc}")
        for stream in ("github.repositories", "github.workflow_runs", "github.run_durations", "github.runners", "github.dependabot_alerts", "github.code_scanning_alerts"):
            streams.mark_incomplete(stream)
        return

    runs = None
    try:
        listing = reader.get_list(f"{path}/actions/runs", {"created": f">={since}"}, lambda body: body.get("workflow_runs"))
        runs = [{**run, "_repository": full_name} for run in listing.items if isinstance(run, dict)]
        alerting = [
            {**run, "_severity": run_severity(run, repo.get("default_branch")), "_resource": f"{full_name}@{run.get('head_branch')}"}
            for run in runs if run.get("conclusion") in ALERTING_CONCLUSIONS
        ]
        durations = [
            {"_repository": full_name, "workflow_id": run.get("workflow_id"), "name": run.get("name"), "duration_s": duration, "updated_at": run.get("updated_at")}
            for run in runs if (duration := run_duration_s(run)) is not None
        ]
        streams.add("github.workflow_runs", alerting, listing.complete)
        streams.add("github.run_durations", durations, listing.complete)
    except FATAL_ERRORS:
        raise
    except SourceError as exc:
        yield _note_for(exc, f"workflow runs of {full_name}")
        streams.mark_incomplete("github.workflow_runs")

    health, detail = repository_health(repo, runs)
    streams.add("github.repositories", [{**repo, "_health": health, "_health_detail": detail}], True)

    optional = (
        ("github.runners", f"{path}/actions/runners", {}, lambda body: body.get("runners"), "self-hosted runners"),
        ("github.dependabot_alerts", f"{path}/dependabot/alerts", {"state": "open"}, lambda body: body, "Dependabot alerts"),
        ("github.code_scanning_alerts", f"{path}/code-scanning/alerts", {"state": "open"}, lambda body: body, "code-scanning alerts"),
    )
    for stream, list_path, params, extract, what in optional:
        try:
            listing = reader.get_list(list_path, params, extract)
        except FATAL_ERRORS:
            raise
        except SourceError as exc:
            yield _note_for(exc, f"{what} of {full_name}")
            streams.mark_incomplete(stream)
            continue
        records = [shape_record(stream, item, full_name) for item in listing.items if isinstance(item, dict)]
        streams.add(stream, records, listing.complete)


def shape_record(stream: str, item: dict[str, Any], scope: str) -> dict[str, Any]:
    """Add the derived fields the contract reads (repository, severity, detail) to one item."""
    if stream == "github.runners":
        busy = "busy" if item.get("busy") else "idle"
        return {**item, "_scope": scope, "_detail": f"{item.get('status', 'unknown')}, {busy}"}
    if stream == "github.code_scanning_alerts":
        rule = item.get("rule") if isinstance(item.get("rule"), dict) else {}
        severity = rule.get("security_severity_level") or rule.get("severity") or "unknown"
        return {**item, "_repository": scope, "_severity": severity}
    return {**item, "_repository": scope}


def read_organization(reader: GitHubReader, organization: str, streams: Streams) -> Iterator[SourceNote]:
    try:
        listing = reader.get_list(f"/orgs/{organization}/actions/runners", {}, lambda body: body.get("runners"))
    except FATAL_ERRORS:
        raise
    except SourceError as exc:
        yield _note_for(exc, f"self-hosted runners of organization {organization}")
        streams.mark_incomplete("github.runners")
        return
    records = [shape_record("github.runners", item, organization) for item in listing.items if isinstance(item, dict)]
    streams.add("github.runners", records, listing.complete)


def collect(context: SourceContext) -> Iterator[StreamBatch | SourceNote]:
    repositories = configured_repositories(context)
    organization = context.options.get("organization")
    days = int(context.options.get("workflow_runs_days", 7))
    since = (context.as_of - timedelta(days=days)).date().isoformat()
    reader = GitHubReader(context)
    streams = Streams()

    try:
        for full_name in repositories:
            yield from read_repository(reader, full_name, streams, since)
        if organization:
            yield from read_organization(reader, str(organization), streams)
    except FATAL_ERRORS:
        # The rate-limit headers are written even when the run stops here: they show why.
        yield StreamBatch("github.rate_limit", reader.rate_limit_records())
        raise
    yield StreamBatch("github.rate_limit", reader.rate_limit_records())
    for stream, records in streams.records.items():
        yield StreamBatch(stream, records, complete=streams.complete[stream])
