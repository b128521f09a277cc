"""The read-only policy: per source, the allowed endpoints and the timeout and retry standards.

The policy lives in data/api_policy.yml. An endpoint is a (method, service, path template) triple,
where the service names a configured base URL, and so fixes the scheme, host and port. Read-only
is decided per endpoint and not by HTTP method, because some read APIs (UptimeRobot v2) only take
POST. Every mistake in the file raises PolicyError naming the source and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monlab.config import BASE_URL_VARS, SOURCE_NAMES
from monlab.errors import PolicyError

METHODS = ("GET", "HEAD", "POST")
SCHEMES = ("https", "http")
JITTER_KINDS = ("full", "none")
SERVICES = tuple(BASE_URL_VARS)

_SOURCE_KEYS = {"credential", "scheme", "timeouts", "retry", "endpoints", "probe"}
_CREDENTIAL_KEYS = {"env", "scope"}
_TIMEOUT_KEYS = {"connect_s", "read_s", "attempt_s", "deadline_s"}
_RETRY_KEYS = {"attempts", "backoff_base_s", "backoff_cap_s", "jitter", "max_wait_s"}
_PREFLIGHT_KEYS = {"clock_skew_warn_s", "clock_skew_fail_s"}
_TEMPLATE_PART = re.compile(r"(\{[^/{}]+\})")


@dataclass(frozen=True)
class Endpoint:
    """One allowlisted request shape; `path` is a template such as /repos/{owner}/{repo}/events."""

    method: str
    service: str
    path: str

    def pattern(self) -> re.Pattern[str]:
        parts = _TEMPLATE_PART.split(self.path)
        regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
        return re.compile(f"^{regex}$")

    def matches(self, method: str, service: str, path: str) -> bool:
        return method == self.method and service == self.service and bool(self.pattern().match(path))


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to connect, for each socket read, for one attempt from connecting to the
    last body byte, and for every request of a source in one run together."""

    connect_s: float
    read_s: float
    attempt_s: float
    deadline_s: float


@dataclass(frozen=True)
class RetryStandard:
    """Attempts per request, the exponential backoff between them in seconds, and the longest
    server-requested wait to honour; a longer one defers the source to the next run."""

    attempts: int
    backoff_base_s: float
    backoff_cap_s: float
    jitter: str
    max_wait_s: float


@dataclass(frozen=True)
class SourcePolicy:
    """The policy of one source."""

    name: str
    credential_env: str | None
    credential_scope: str
    scheme: str
    timeouts: Timeouts
    retry: RetryStandard
    endpoints: tuple[Endpoint, ...]
    probe: Endpoint | None = None

    def find_endpoint(self, method: str, service: str, path: str) -> Endpoint | None:
        for endpoint in self.endpoints:
            if endpoint.matches(method, service, path):
                return endpoint
        return None


@dataclass(frozen=True)
class PreflightLimits:
    """Server clock skew, in seconds, above which the preflight checklist warns or fails."""

    clock_skew_warn_s: float = 60.0
    clock_skew_fail_s: float = 300.0


@dataclass(frozen=True)
class Policy:
    sources: dict[str, SourcePolicy]
    preflight: PreflightLimits = PreflightLimits()

    def for_source(self, name: str) -> SourcePolicy:
        try:
            return self.sources[name]
        except KeyError:
            raise PolicyError(f"the policy has no section for source {name!r}; add one to data/api_policy.yml") from None


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        found = "nothing" if value is None else type(value).__name__
        raise PolicyError(f"{where}: expected a mapping, found {found}")
    return value


def _only_keys(section: dict[str, Any], allowed: set[str], where: str, required: set[str] = frozenset()) -> None:
    unknown = sorted(str(key) for key in set(section) - allowed)
    if unknown:
        raise PolicyError(f"{where}: unknown key {unknown[0]!r}; expected {', '.join(sorted(allowed))}")
    missing = sorted(required - set(section))
    if missing:
        raise PolicyError(f"{where}.{missing[0]}: missing")


def _number(section: dict[str, Any], key: str, where: str, *, minimum: float = 0.0) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PolicyError(f"{where}.{key}: expected a number, found {value!r}")
    if value < minimum:
        raise PolicyError(f"{where}.{key}: must be at least {minimum:g}, found {value!r}")
    return float(value)


def _choice(section: dict[str, Any], key: str, where: str, choices: tuple[str, ...], default: str) -> str:
    value = section.get(key, default)
    if value not in choices:
        raise PolicyError(f"{where}.{key}: expected one of {', '.join(choices)}, found {value!r}")
    return value


def _parse_endpoint(entry: Any, where: str, default_service: str) -> Endpoint:
    entry = _mapping(entry, where)
    _only_keys(entry, {"method", "path", "service"}, where, required={"method", "path"})
    method = entry["method"]
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise PolicyError(f"{where}.method: expected one of {', '.join(METHODS)}, found {method!r}")
    path = entry["path"]
    if not isinstance(path, str) or not path.startswith("/") or "?" in path or "://" in path:
        raise PolicyError(f"{where}.path: expected a path template starting with '/' and without a query, found {path!r}")
    service = entry.get("service", default_service)
    if service not in SERVICES:
        raise PolicyError(f"{where}.service: expected one of {', '.join(SERVICES)}, found {service!r}")
    return Endpoint(method=method.upper(), service=service, path=path)


def _parse_timeouts(section: Any, where: str) -> Timeouts:
    section = _mapping(section, where)
    _only_keys(section, _TIMEOUT_KEYS, where, required=_TIMEOUT_KEYS)
    timeouts = Timeouts(
        connect_s=_number(section, "connect_s", where, minimum=0.05),
        read_s=_number(section, "read_s", where, minimum=0.05),
        attempt_s=_number(section, "attempt_s", where, minimum=0.05),
        deadline_s=_number(section, "deadline_s", where, minimum=0.1),
    )
    if timeouts.attempt_s < timeouts.read_s:
        raise PolicyError(f"{where}.attempt_s: must be at least read_s ({timeouts.read_s:g}), found {timeouts.attempt_s:g}")
    if timeouts.deadline_s < timeouts.attempt_s:
        raise PolicyError(f"{where}.deadline_s: must be at least attempt_s ({timeouts.attempt_s:g}), found {timeouts.deadline_s:g}")
    return timeouts


def _parse_retry(section: Any, where: str) -> RetryStandard:
    section = _mapping(section, where)
    _only_keys(section, _RETRY_KEYS, where, required=_RETRY_KEYS - {"jitter"})
    attempts = section["attempts"]
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise PolicyError(f"{where}.attempts: expected a whole number of at least 1, found {attempts!r}")
    retry = RetryStandard(
        attempts=attempts,
        backoff_base_s=_number(section, "backoff_base_s", where),
        backoff_cap_s=_number(section, "backoff_cap_s", where),
        jitter=_choice(section, "jitter", where, JITTER_KINDS, "full"),
        max_wait_s=_number(section, "max_wait_s", where),
    )
    if retry.backoff_cap_s < retry.backoff_base_s:
        raise PolicyError(f"{where}.backoff_cap_s: must be at least backoff_base_s ({retry.backoff_base_s:g}), found {retry.backoff_cap_s:g}")
    return retry


def _parse_source(name: Any, section: Any) -> SourcePolicy:
    where = f"sources.{name}"
    if name not in SOURCE_NAMES:
        raise PolicyError(f"{where}: unknown source; expected one of {', '.join(SOURCE_NAMES)}")
    section = _mapping(section, where)
    _only_keys(section, _SOURCE_KEYS, where, required={"timeouts", "retry", "endpoints"})
    credential = _mapping(section.get("credential", {}), f"{where}.credential")
    _only_keys(credential, _CREDENTIAL_KEYS, f"{where}.credential")
    entries = section["endpoints"]
    if not isinstance(entries, list) or not entries:
        raise PolicyError(f"{where}.endpoints: expected a non-empty list of endpoints")
    endpoints = tuple(
        _parse_endpoint(entry, f"{where}.endpoints[{index}]", default_service=name) for index, entry in enumerate(entries)
    )

    probe = None
    if section.get("probe") is not None:
        probe = _parse_endpoint(section["probe"], f"{where}.probe", default_service=name)
        # The preflight probe goes through the same guarded client, so it must be allowlisted too.
        if probe not in endpoints:
            raise PolicyError(f"{where}.probe: {probe.method} {probe.path} is not one of the source's endpoints")

    return SourcePolicy(
        name=name,
        credential_env=credential.get("env"),
        credential_scope=str(credential.get("scope", "none")),
        scheme=_choice(section, "scheme", where, SCHEMES, "https"),
        timeouts=_parse_timeouts(section["timeouts"], f"{where}.timeouts"),
        retry=_parse_retry(section["retry"], f"{where}.retry"),
        endpoints=endpoints,
        probe=probe,
    )


def _parse_preflight(section: Any) -> PreflightLimits:
    section = _mapping(section, "preflight")
    _only_keys(section, _PREFLIGHT_KEYS, "preflight")
    limits = PreflightLimits(
        clock_skew_warn_s=_number(section, "clock_skew_warn_s", "preflight") if "clock_skew_warn_s" in section else 60.0,
        clock_skew_fail_s=_number(section, "clock_skew_fail_s", "preflight") if "clock_skew_fail_s" in section else 300.0,
    )
    if limits.clock_skew_fail_s < limits.clock_skew_warn_s:
        raise PolicyError(f"preflight.clock_skew_fail_s: must be at least clock_skew_warn_s ({limits.clock_skew_warn_s:g})")
    return limits


def parse_policy(document: Any) -> Policy:
    """Validate a parsed policy document; a mistake raises PolicyError naming the source and key."""
    document = _mapping(document, "policy file")
    _only_keys(document, {"version", "sources", "preflight"}, "policy file", required={"sources"})
    if document.get("version", 1) != 1:
        raise PolicyError(f"version: expected 1, found {document['version']!r}")
    sources = _mapping(document["sources"], "sources")
    preflight = _parse_preflight(document["preflight"]) if "preflight" in document else PreflightLimits()
    return Policy(sources={name: _parse_source(name, section) for name, section in sources.items()}, preflight=preflight)


def load_policy(path: Path) -> Policy:
    """Load and validate data/api_policy.yml; a mistake raises PolicyError naming the source and key."""
    if not path.is_file():
        raise PolicyError(f"policy file not found: {path}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path} is not valid YAML: {exc}") from None
    try:
        return parse_policy(document)
    except PolicyError as exc:
        raise PolicyError(f"{path.name}: {exc}") from None
