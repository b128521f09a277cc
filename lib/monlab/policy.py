"""The read-only policy: per source, the allowed endpoints and the timeout and retry standards.

The policy lives in data/api_policy.yml. An endpoint is a (method, service, path template) triple,
where the service names a configured base URL. Read-only is decided per endpoint and not by HTTP
method, because some read APIs (UptimeRobot v2) only take POST.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monlab.errors import PolicyError

METHODS = ("GET", "HEAD", "POST")


@dataclass(frozen=True)
class Endpoint:
    """One allowlisted request shape; `path` is a template such as /repos/{owner}/{repo}/events."""

    method: str
    service: str
    path: str

    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"(\{[^/{}]+\})", self.path)
        regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
        return re.compile(f"^{regex}$")

    def matches(self, method: str, service: str, path: str) -> bool:
        return method == self.method and service == self.service and bool(self.pattern().match(path))


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, for each read, and for all requests of a source in one run."""

    connect_s: float
    read_s: float
    deadline_s: float


@dataclass(frozen=True)
class RetryStandard:
    """Attempts per request and the exponential backoff (full jitter) between them, in seconds."""

    attempts: int
    backoff_base_s: float
    backoff_cap_s: float
    max_wait_s: float


@dataclass(frozen=True)
class SourcePolicy:
    """The policy of one source."""

    name: str
    credential_env: str | None
    credential_scope: str
    timeouts: Timeouts
    retry: RetryStandard
    endpoints: tuple[Endpoint, ...]

    def find_endpoint(self, method: str, service: str, path: str) -> Endpoint | None:
        for endpoint in self.endpoints:
            if endpoint.matches(method, service, path):
                return endpoint
        return None


@dataclass(frozen=True)
class Policy:
    sources: dict[str, SourcePolicy]

    def for_source(self, name: str) -> SourcePolicy:
        try:
            return self.sources[name]
        except KeyError:
            raise PolicyError(f"the policy has no section for source {name!r}; add one to data/api_policy.yml") from None


def _number(section: dict[str, Any], key: str, where: str, *, minimum: float = 0.0) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PolicyError(f"{where}.{key}: expected a number, found {value!r}")
    if value < minimum:
        raise PolicyError(f"{where}.{key}: must be at least {minimum}, found {value!r}")
    return float(value)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a mapping, found {type(value).__name__}")
    return value


def _parse_endpoint(entry: Any, where: str, default_service: str) -> Endpoint:
    entry = _mapping(entry, where)
    unknown = set(entry) - {"method", "path", "service"}
    if unknown:
        raise PolicyError(f"{where}: unknown key {sorted(unknown)[0]!r}; expected method, path and optional service")
    method = str(entry.get("method", "")).upper()
    if method not in METHODS:
        raise PolicyError(f"{where}.method: expected one of {', '.join(METHODS)}, found {entry.get('method')!r}")
    path = entry.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise PolicyError(f"{where}.path: expected a path template starting with '/', found {path!r}")
    return Endpoint(method=method, service=str(entry.get("service", default_service)), path=path)


def _parse_source(name: str, section: Any) -> SourcePolicy:
    where = f"sources.{name}"
    section = _mapping(section, where)
    credential = _mapping(section.get("credential") or {}, f"{where}.credential")
    timeouts = _mapping(section.get("timeouts"), f"{where}.timeouts")
    retry = _mapping(section.get("retry"), f"{where}.retry")
    entries = section.get("endpoints")
    if not isinstance(entries, list) or not entries:
        raise PolicyError(f"{where}.endpoints: expected a non-empty list of endpoints")

    attempts = retry.get("attempts")
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise PolicyError(f"{where}.retry.attempts: expected a whole number of at least 1, found {attempts!r}")

    return SourcePolicy(
        name=name,
        credential_env=credential.get("env"),
        credential_scope=str(credential.get("scope", "none")),
        timeouts=Timeouts(
            connect_s=_number(timeouts, "connect_s", f"{where}.timeouts", minimum=0.1),
            read_s=_number(timeouts, "read_s", f"{where}.timeouts", minimum=0.1),
            deadline_s=_number(timeouts, "deadline_s", f"{where}.timeouts", minimum=1.0),
        ),
        retry=RetryStandard(
            attempts=attempts,
            backoff_base_s=_number(retry, "backoff_base_s", f"{where}.retry"),
            backoff_cap_s=_number(retry, "backoff_cap_s", f"{where}.retry"),
            max_wait_s=_number(retry, "max_wait_s", f"{where}.retry"),
        ),
        endpoints=tuple(
            _parse_endpoint(entry, f"{where}.endpoints[{index}]", default_service=name)
            for index, entry in enumerate(entries)
        ),
    )


def load_policy(path: Path) -> Policy:
    """Load and validate data/api_policy.yml; a mistake raises PolicyError naming the source and key."""
    if not path.is_file():
        raise PolicyError(f"policy file not found: {path}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path} is not valid YAML: {exc}") from None
    document = _mapping(document, "policy file")
    sources = _mapping(document.get("sources"), "sources")
    return Policy(sources={name: _parse_source(name, section) for name, section in sources.items()})
