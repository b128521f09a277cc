"""The preflight checklist: what must hold before a run may write to the cache.

Each check is pass, warn or fail with a reason; any fail blocks every cache write of the run. Per
enabled source it checks that the credential is present and that the policy has a section for it.
One request to the source's read-only probe endpoint then checks that the credential is accepted,
that its scope is read-only where the API reports it, and that the server clock agrees with ours. In replay mode those network checks read the
cassette instead and mark their reasons "replay: from cassette".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import yaml

from monlab import replay
from monlab.config import CREDENTIAL_VARS, Settings, parse_as_of
from monlab.errors import ConfigError, MonlabError, ReadOnlyViolation, SourceDeferred
from monlab.fetch import AuditTrail, GuardedClient
from monlab.policy import Endpoint, Policy, PreflightLimits, SourcePolicy, load_policy
from monlab.redact import scrub_text

log = logging.getLogger("monlab.preflight")

PASS, WARN, FAIL = "pass", "warn", "fail"
# A check that could not be made here, such as a key's scope in replay, where no key is sent.
SKIP = "skip"
# With sources.uptimerobot.api_version 3 the key is a v3 Bearer key, so the probe reads v3.
V3_PROBE_PATH = "/v3/monitors"

# Classic GitHub token scopes that allow writing; an "admin:", "write:" or "delete:" prefix does too.
GITHUB_WRITE_SCOPES = frozenset({"repo", "public_repo", "delete_repo", "workflow", "user", "gist", "project", "security_events", "codespace"})
GITHUB_WRITE_PREFIXES = ("admin:", "write:", "delete:", "repo:", "user:")
# Sources whose API has no write method reachable with their credential.
NO_WRITE_APIS = frozenset({"openweather", "prometheus"})


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    source: str
    check: str
    result: str
    reason: str


def _policy_checks(settings: Settings) -> tuple[Policy | None, list[Check]]:
    try:
        policy = load_policy(settings.policy_path)
    except MonlabError as exc:
        return None, [Check("all", "policy valid", FAIL, str(exc))]
    return policy, [Check("all", "policy valid", PASS, f"{settings.policy_path.name} loaded")]


def _credential_check(settings: Settings, source: str) -> Check:
    variable = CREDENTIAL_VARS.get(source)
    if variable is None:
        return Check(source, "credential present", PASS, "this source needs no credential")
    if settings.mode == "replay":
        return Check(source, "credential present", PASS, "not needed in replay mode")
    if settings.credential(source):
        return Check(source, "credential present", PASS, f"{variable} is set")
    return Check(source, "credential present", FAIL, f"{variable} is not set; put it in the environment or .env")


# -- scope and clock skew, from a response's headers -------------------------------------------


def github_scope_check(scopes_header: str | None, prefix: str = "") -> Check:
    """Judge a classic token's X-OAuth-Scopes header; its absence means a token kind that has none."""
    if scopes_header is None:
        return Check("github", "scope read-only", WARN, f"{prefix}unknown: fine-grained and app tokens send no X-OAuth-Scopes header; give the token read-only permissions")
    scopes = sorted(scope.strip() for scope in scopes_header.split(",") if scope.strip())
    writes = [scope for scope in scopes if scope in GITHUB_WRITE_SCOPES or scope.startswith(GITHUB_WRITE_PREFIXES)]
    if writes:
        return Check("github", "scope read-only", FAIL, f"{prefix}the token has write scopes: {', '.join(writes)}; use a token without them")
    return Check("github", "scope read-only", PASS, f"{prefix}scopes: {', '.join(scopes) or 'none (public data only)'}")


def _scope_check(source: str, section: SourcePolicy, response: requests.Response | None, prefix: str = "") -> Check:
    if source == "github":
        return github_scope_check(response.headers.get("X-OAuth-Scopes") if response is not None else None, prefix)
    if source in NO_WRITE_APIS:
        return Check(source, "scope read-only", PASS, f"{prefix}{section.credential_scope}")
    return Check(source, "scope read-only", WARN, f"{prefix}unknown: the API does not report the key's scope; expected {section.credential_scope}")


def clock_skew_check(source: str, date_header: str | None, our_time: float, limits: PreflightLimits, prefix: str = "") -> Check:
    """Compare a Date header with our clock; warn or fail above the policy's limits."""
    if not date_header:
        return Check(source, "clock skew", WARN, f"{prefix}the server sent no Date header")
    try:
        server_time = parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError, IndexError):
        return Check(source, "clock skew", WARN, f"{prefix}the Date header {date_header!r} is not an HTTP date")
    skew = our_time - server_time
    text = f"{prefix}our clock is {abs(skew):.0f} s {'ahead of' if skew >= 0 else 'behind'} the server"
    if abs(skew) > limits.clock_skew_fail_s:
        return Check(source, "clock skew", FAIL, f"{text}, more than {limits.clock_skew_fail_s:g} s; fix the host's time (NTP)")
    if abs(skew) > limits.clock_skew_warn_s:
        return Check(source, "clock skew", WARN, f"{text}, more than {limits.clock_skew_warn_s:g} s")
    return Check(source, "clock skew", PASS, text)


# -- replay: read the cassette -----------------------------------------------------------------


def _cassette_checks(settings: Settings, source: str, section: SourcePolicy, limits: PreflightLimits) -> list[Check]:
    prefix = "replay: from cassette; "
    path = replay.require_cassette(settings, source)
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    recorded_at = parse_as_of(replay.read_metadata(path)["recorded_at"])
    headers: dict[str, Any] = {}
    for interaction in document.get("interactions") or []:
        headers = {name.lower(): values for name, values in (interaction.get("response", {}).get("headers") or {}).items()}
        if "date" in headers:
            break

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if isinstance(values, list) and values else values

    if source == "github":
        scope = github_scope_check(first("x-oauth-scopes"), prefix)
    else:
        scope = Check(source, "scope read-only", SKIP, "not checked in replay: no key is sent, and the cassette's responses decide what the run sees")
    return [scope, clock_skew_check(source, first("date"), recorded_at.timestamp(), limits, prefix)]


# -- live and record: call the probe endpoint --------------------------------------------------


def _probe_request(settings: Settings, source: str) -> dict[str, Any]:
    """Return the keyword arguments of the probe request of a source."""
    secret = settings.credential(source).reveal()
    if _uses_uptimerobot_v3(settings, source):
        return {"headers": {"Authorization": f"Bearer {secret}"}}
    if source == "uptimerobot":
        return {"data": {"api_key": secret, "format": "json"}}
    if source == "github":
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        return {"headers": {**headers, "Authorization": f"Bearer {secret}"} if secret else headers}
    if source == "openweather":
        locations = settings.options("openweather").get("locations") or [{"lat": 0, "lon": 0}]
        return {"params": {"lat": locations[0]["lat"], "lon": locations[0]["lon"], "appid": secret}}
    return {}


def _uptimerobot_rejected(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("stat") == "fail":
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        return f"the key was rejected ({error.get('type', 'unknown')})"
    return None


def _uses_uptimerobot_v3(settings: Settings, source: str) -> bool:
    return source == "uptimerobot" and str(settings.options("uptimerobot").get("api_version", 2)) == "3"


def _probe_endpoint(settings: Settings, source: str, section: SourcePolicy) -> Endpoint | None:
    """Return the probe of a source; an UptimeRobot v3 key is probed on v3, which it can read."""
    if _uses_uptimerobot_v3(settings, source):
        return section.find_endpoint("GET", "uptimerobot", V3_PROBE_PATH)
    return section.probe


def _probe_checks(settings: Settings, source: str, section: SourcePolicy, limits: PreflightLimits, audit: AuditTrail, clock: Any) -> list[Check]:
    probe = _probe_endpoint(settings, source, section)
    if probe is None:
        return [Check(source, "probe", WARN, "the policy names no probe endpoint; credential, scope and clock not checked")]
    if source in CREDENTIAL_VARS and not settings.credential(source):
        return [Check(source, "probe", FAIL, "skipped: no credential to check")]

    try:
        client = GuardedClient(section, probe.service, settings.base_urls[probe.service], audit=audit, clock=clock)
        response = client.request(probe.method, probe.path, **_probe_request(settings, source))
        received_at = client.clock.time()
    except ReadOnlyViolation as exc:
        return [Check(source, "probe", FAIL, f"refused: {scrub_text(str(exc))}")]
    except SourceDeferred as exc:
        return [Check(source, "probe", WARN, f"deferred: {scrub_text(str(exc))}")]
    except MonlabError as exc:
        return [Check(source, "probe", FAIL, scrub_text(str(exc)))]

    rejected = _uptimerobot_rejected(response) if source == "uptimerobot" else None
    if rejected:
        probe_check = Check(source, "probe", FAIL, f"{probe.method} {probe.path}: {rejected}")
    else:
        probe_check = Check(source, "probe", PASS, f"{probe.method} {probe.path} answered HTTP {response.status_code}")
    return [probe_check, _scope_check(source, section, response), clock_skew_check(source, response.headers.get("Date"), received_at, limits)]


def run_checklist(settings: Settings, *, audit: AuditTrail | None = None, clock: Any = None) -> list[Check]:
    """Run every check for the enabled sources and return the checklist.

    Outside replay mode this sends one probe request per source, through the guarded client, to
    an allowlisted read endpoint; its attempts go to `audit`.
    """
    audit = audit if audit is not None else AuditTrail()
    policy, checks = _policy_checks(settings)
    for source in settings.sources:
        checks.append(_credential_check(settings, source))
        if policy is None:
            continue
        try:
            section = policy.for_source(source)
        except ConfigError as exc:
            checks.append(Check(source, "policy section", FAIL, str(exc)))
            continue
        checks.append(Check(source, "policy section", PASS, f"{len(section.endpoints)} allowlisted endpoints"))

        if settings.mode != "replay":
            checks.extend(_probe_checks(settings, source, section, policy.preflight, audit, clock))
            continue
        try:
            path = replay.require_cassette(settings, source)
        except ConfigError as exc:
            checks.append(Check(source, "cassette present", FAIL, str(exc)))
            continue
        checks.append(Check(source, "cassette present", PASS, f"{path.parent.name}/{path.name}"))
        checks.extend(_cassette_checks(settings, source, section, policy.preflight))
    return checks


def passed(checks: list[Check]) -> bool:
    return all(check.result != FAIL for check in checks)


def blocking_reasons(checks: list[Check]) -> str:
    return "; ".join(f"{check.source}: {check.check}: {check.reason}" for check in checks if check.result == FAIL)


def format_checklist(checks: list[Check]) -> str:
    """Render the checklist as a fixed-width text table."""
    header = ("source", "check", "result", "reason")
    rows = [header] + [(check.source, check.check, check.result.upper(), check.reason) for check in checks]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = ["  ".join(row[column].ljust(widths[column]) for column in range(3)) + "  " + row[3] for row in rows]
    return "\n".join(line.rstrip() for line in lines)
