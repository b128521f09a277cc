"""The guarded HTTP client: allowlist, timeouts, retries with backoff, and an audit trail.

Every request is checked against the source's policy before a socket opens. Redirects are never
followed automatically: a redirect is checked like a new request.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import requests

from monlab.errors import (
    AuthError,
    ReadOnlyViolation,
    ResponseFormatError,
    SourceDeferred,
    SourceError,
    SourceUnavailable,
)
from monlab.policy import SourcePolicy
from monlab.redact import scrub_text

log = logging.getLogger("monlab.fetch")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
USER_AGENT = "monlab/0.1 (read-only monitoring ingestion)"


@dataclass
class AuditEntry:
    """One attempt of one request, as stored in the audit trail; it never contains a secret."""

    source: str
    service: str
    method: str
    host: str
    path_template: str
    attempt: int
    status: int | None
    duration_ms: int
    bytes: int
    outcome: str


@dataclass
class AuditTrail:
    entries: list[AuditEntry] = field(default_factory=list)

    def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)


def _is_loopback(host: str | None) -> bool:
    return (host or "").lower() in LOOPBACK_HOSTS or (host or "").startswith("127.")


def _retry_after_seconds(response: requests.Response, now: float) -> float | None:
    """Return the wait a response asks for, from Retry-After (seconds or HTTP date) or a reset header."""
    header = response.headers.get("Retry-After")
    if header:
        header = header.strip()
        if header.isdigit():
            return float(header)
        try:
            return max(0.0, parsedate_to_datetime(header).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = response.headers.get("X-RateLimit-Reset")
    remaining = response.headers.get("X-RateLimit-Remaining")
    if reset and reset.strip().isdigit() and (remaining is None or remaining.strip() == "0"):
        return max(0.0, float(reset) - now)
    return None


class GuardedClient:
    """Sends the allowlisted requests of one service of one source, with the policy's standards."""

    def __init__(
        self,
        policy: SourcePolicy,
        service: str,
        base_url: str,
        *,
        session: requests.Session | None = None,
        headers: dict[str, str] | None = None,
        audit: AuditTrail | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ):
        self.policy = policy
        self.source = policy.name
        self.service = service
        self.base_url = base_url.rstrip("/")
        self._base = urlsplit(self.base_url)
        self.session = session or requests.Session()
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self.audit = audit if audit is not None else AuditTrail()
        self._sleep = sleep
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._jitter = jitter
        self._started = monotonic()
        self._check_base_url()

    def _check_base_url(self) -> None:
        if self._base.scheme not in ("http", "https") or not self._base.hostname:
            raise ReadOnlyViolation(self.source, "ANY", self.base_url, "the base URL must be an http or https URL")
        if self._base.scheme == "http" and not _is_loopback(self._base.hostname):
            raise ReadOnlyViolation(
                self.source, "ANY", f"{self._base.hostname}", "plain http is allowed only on loopback; use https"
            )

    def _relative_path(self, method: str, target: str) -> str:
        """Return the path of `target` below the base URL, or raise if it points anywhere else."""
        if "://" not in target:
            return "/" + target.lstrip("/").split("?", 1)[0]
        parts = urlsplit(target)
        same_origin = (
            parts.scheme == self._base.scheme
            and parts.hostname == self._base.hostname
            and (parts.port or None) == (self._base.port or None)
        )
        if not same_origin:
            reason = "another host" if parts.hostname != self._base.hostname else "another scheme or port"
            raise ReadOnlyViolation(self.source, method, f"{parts.scheme}://{parts.hostname}", f"{reason} than the configured base URL")
        base_path = self._base.path.rstrip("/")
        if not parts.path.startswith(base_path + "/") and parts.path != base_path:
            raise ReadOnlyViolation(self.source, method, parts.path, "a path outside the configured base URL")
        return parts.path[len(base_path):] or "/"

    def check(self, method: str, target: str) -> str:
        """Return the endpoint template a request matches, or raise ReadOnlyViolation."""
        method = method.upper()
        path = self._relative_path(method, target)
        endpoint = self.policy.find_endpoint(method, self.service, path)
        if endpoint is None:
            raise ReadOnlyViolation(self.source, method, path, "not on the allowlist in data/api_policy.yml")
        return endpoint.path

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.retry.backoff_cap_s, self.policy.retry.backoff_base_s * 2 ** (attempt - 1))
        return self._jitter() * ceiling

    def _remaining_deadline(self) -> float:
        return self.policy.timeouts.deadline_s - (self._monotonic() - self._started)

    def request(
        self,
        method: str,
        target: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset({304}),
    ) -> requests.Response:
        """Send one allowlisted request with retries; return a 2xx (or ok_statuses) response."""
        method = method.upper()
        template = self.check(method, target)
        url = target if "://" in target else self.base_url + "/" + target.lstrip("/")
        merged_headers = {**self.headers, **(headers or {})}

        for attempt in range(1, self.policy.retry.attempts + 1):
            remaining = self._remaining_deadline()
            if remaining <= 0:
                raise SourceUnavailable(self.source, f"the deadline of {self.policy.timeouts.deadline_s:g} s for this run was reached", endpoint=template)
            response, error = self._send_once(method, url, template, attempt, params, data, merged_headers, remaining)
            last_attempt = attempt == self.policy.retry.attempts

            if error is not None:
                if last_attempt:
                    raise SourceUnavailable(self.source, f"{error} after {attempt} attempts", endpoint=template) from None
                self._wait(self._backoff(attempt), template, None)
                continue

            if 300 <= response.status_code < 400 and response.status_code not in ok_statuses:
                location = response.headers.get("Location", "")
                next_url = urljoin(url, location)
                self.check(method, next_url)
                url = next_url
                continue

            if response.status_code in RETRY_STATUSES:
                wait = _retry_after_seconds(response, self._wall_clock())
                if wait is not None and wait > self.policy.retry.max_wait_s:
                    raise SourceDeferred(
                        self.source,
                        f"HTTP {response.status_code}: the server asks to wait {wait:.0f} s, more than the policy's {self.policy.retry.max_wait_s:g} s",
                        wait_s=wait,
                        endpoint=template,
                        http_status=response.status_code,
                    )
                if last_attempt:
                    raise SourceUnavailable(
                        self.source, f"HTTP {response.status_code} after {attempt} attempts", endpoint=template, http_status=response.status_code
                    )
                self._wait(wait if wait is not None else self._backoff(attempt), template, response.status_code)
                continue

            self._raise_for_status(response, template, ok_statuses)
            return response

        raise SourceUnavailable(self.source, "too many redirects", endpoint=template)

    def _send_once(self, method, url, template, attempt, params, data, headers, remaining):
        connect = min(self.policy.timeouts.connect_s, remaining)
        read = min(self.policy.timeouts.read_s, remaining)
        started = self._monotonic()
        response = None
        error = None
        try:
            response = self.session.request(
                method, url, params=params, data=data, headers=headers, timeout=(connect, read), allow_redirects=False
            )
            # Reading the body here makes a stalled or truncated body a retryable error.
            body = response.content
        except requests.exceptions.Timeout as exc:
            error = f"timed out ({type(exc).__name__})"
            body = b""
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            error = f"connection failed ({type(exc).__name__})"
            body = b""
        duration_ms = int((self._monotonic() - started) * 1000)
        status = response.status_code if response is not None else None
        entry = AuditEntry(
            source=self.source,
            service=self.service,
            method=method,
            host=self._base.netloc,
            path_template=template,
            attempt=attempt,
            status=status,
            duration_ms=duration_ms,
            bytes=len(body),
            outcome=error or ("ok" if status is not None and status < 400 else "error"),
        )
        self.audit.add(entry)
        log.info(
            "%s %s %s%s -> %s (attempt %d, %d ms, %d bytes)",
            self.source, method, self._base.netloc, template, status if status is not None else error, attempt, duration_ms, len(body),
        )
        return response, error

    def _wait(self, seconds: float, template: str, status: int | None) -> None:
        remaining = self._remaining_deadline()
        if seconds >= remaining:
            raise SourceUnavailable(self.source, f"retry wait of {seconds:.1f} s would pass the run deadline", endpoint=template, http_status=status)
        log.info("%s %s: retrying in %.2f s", self.source, template, seconds)
        self._sleep(seconds)

    def _raise_for_status(self, response: requests.Response, template: str, ok_statuses: frozenset[int]) -> None:
        status = response.status_code
        if 200 <= status < 300 or status in ok_statuses:
            return
        detail = describe_error_body(response)
        if status in (401, 403):
            raise AuthError(self.source, f"HTTP {status}: {detail}", endpoint=template, http_status=status)
        raise SourceError(self.source, f"HTTP {status}: {detail}", endpoint=template, http_status=status)


def describe_error_body(response: requests.Response, limit: int = 200) -> str:
    """Return a short, scrubbed description of an error body: its message field, or its start."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")
        return scrub_text(text[:limit]) or response.reason or "no body"
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str):
                return scrub_text(value[:limit])
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return scrub_text(value["message"][:limit])
            if isinstance(value, list):
                return scrub_text("; ".join(str(item) for item in value)[:limit])
    return scrub_text(json.dumps(body)[:limit])


def decode_json(response: requests.Response, source: str, template: str) -> Any:
    """Return the JSON body, or raise ResponseFormatError naming the content type and status."""
    content_type = response.headers.get("Content-Type", "unknown")
    try:
        return response.json()
    except ValueError:
        raise ResponseFormatError(
            source,
            f"expected a JSON body but got {content_type!r} with HTTP {response.status_code}",
            endpoint=template,
            http_status=response.status_code,
        ) from None
