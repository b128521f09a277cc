"""The guarded HTTP client: allowlist, timeouts, retries with backoff, rate limits and an audit trail.

Every request, and every redirect, is checked against the source's policy before a socket opens.
A refusal raises ReadOnlyViolation and is recorded in the audit trail with outcome "refused".
Redirects are never followed blindly: each Location is checked like a new request.

Retried: connection errors, timeouts (connect, each read, and one attempt's total time, so a body
that drips in slowly is cut off), incomplete bodies, 429 and 500/502/503/504, and a 403 that is a
rate limit. Waits are exponential backoff with full jitter, or what the server asks for through
Retry-After (seconds or an HTTP date) or a rate limit reset (epoch seconds); a server wait longer
than the policy's max_wait_s raises SourceDeferred instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Hashable
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
import urllib3.exceptions

from monlab.errors import (
    AuthError,
    ReadOnlyViolation,
    ResponseFormatError,
    SourceDeferred,
    SourceError,
    SourceUnavailable,
)
from monlab.policy import SourcePolicy
from monlab.redact import is_secret_name, scrub_text

log = logging.getLogger("monlab.fetch")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# GitHub documents that after a secondary rate limit without retry-after a client should wait at
# least one minute before retrying.
SECONDARY_LIMIT_WAIT_S = 60.0
READ_CHUNK = 65536
LOOPBACK_HOSTS = frozenset({"localhost", "::1"})
USER_AGENT = "monlab/0.1 (read-only monitoring ingestion)"

_TIMEOUT_ERRORS = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)
_INCOMPLETE_ERRORS = (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)
_CONNECTION_ERRORS = (requests.exceptions.ConnectionError, urllib3.exceptions.HTTPError)


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

    def refused(self) -> list[AuditEntry]:
        return [entry for entry in self.entries if entry.outcome == "refused"]


class SystemClock:
    """The real clocks and sleep; tests and drills pass monlab.drills.FakeClock instead."""

    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)
    time = staticmethod(time.time)


def _with_headers(error: SourceError, response: requests.Response | None) -> SourceError:
    """Attach the response's non-secret headers to an error, so a source can still read rate limits."""
    if response is not None:
        error.response_headers = {
            name.lower(): value for name, value in response.headers.items() if not is_secret_name(name)
        }
    return error


def _read_chunk(raw: Any) -> bytes:
    """Read what has arrived of a body, decoded from gzip or deflate when it is a real urllib3 response.

    requests leaves decoding to its own readers, so reading raw must ask for it. In replay, raw is
    vcrpy's stand-in, whose bodies are stored already decoded and whose read1 takes no options.
    """
    if isinstance(raw, urllib3.response.BaseHTTPResponse):
        return raw.read1(READ_CHUNK, decode_content=True)
    return raw.read1(READ_CHUNK)


class _AttemptTimedOut(Exception):
    """One attempt took longer than the policy's attempt_s."""


def is_loopback(host: str | None) -> bool:
    host = (host or "").lower().strip("[]")
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _host_of(parts) -> str:
    """Return host[:port] of a split URL, without any user:password part."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _seconds_until(header: str, now: float) -> float | None:
    """Parse Retry-After as delay seconds or as an HTTP date; None when it is neither."""
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def server_wait(response: requests.Response, now: float) -> float | None:
    """Return the wait a response requests, in seconds, or None when it names none.

    Retry-After comes first. Next, a rate limit reset (X-RateLimit-Reset, epoch seconds) counts when
    the remaining quota is 0. Last, a GitHub secondary limit (rate limit headers, quota left, no
    Retry-After) means a wait of at least a minute.
    """
    headers = response.headers
    retry_after = headers.get("Retry-After")
    if retry_after:
        wait = _seconds_until(retry_after, now)
        if wait is not None:
            return wait
    remaining = (headers.get("X-RateLimit-Remaining") or "").strip()
    reset = (headers.get("X-RateLimit-Reset") or "").strip()
    if remaining == "0" and reset.isdigit():
        return max(0.0, float(reset) - now)
    if remaining and remaining != "0" and _is_secondary_limit(response):
        return SECONDARY_LIMIT_WAIT_S
    return None


def _is_secondary_limit(response: requests.Response) -> bool:
    if response.status_code == 429:
        return True
    # A 403 with quota left is usually a permission problem, and only the body distinguishes the two.
    return response.status_code == 403 and "secondary rate limit" in response.text.lower()


def is_retryable(response: requests.Response) -> bool:
    """Return whether a response status is worth another attempt: 429, 5xx gateway errors, and a
    403 that is a rate limit rather than a refusal."""
    if response.status_code in RETRY_STATUSES:
        return True
    if response.status_code != 403:
        return False
    remaining = (response.headers.get("X-RateLimit-Remaining") or "").strip()
    return remaining == "0" or bool(response.headers.get("Retry-After")) or _is_secondary_limit(response)


class GuardedClient:
    """Sends the allowlisted requests of one service of one source, with the policy's standards.

    The deadline_s of the policy counts from the client's creation, so create one per run.
    """

    def __init__(
        self,
        policy: SourcePolicy,
        service: str,
        base_url: str,
        *,
        session: requests.Session | None = None,
        headers: dict[str, str] | None = None,
        audit: AuditTrail | None = None,
        clock: Any = None,
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
        self.clock = clock or SystemClock()
        self._jitter = jitter
        self._started = self.clock.monotonic()
        self._check_base_url()

    # -- the allowlist -------------------------------------------------------------------------

    def _refuse(self, method: str, host: str, path: str, reason: str, attempt: int = 1) -> ReadOnlyViolation:
        path = scrub_text(path)
        self.audit.add(AuditEntry(self.source, self.service, method, host, path, attempt, None, 0, 0, "refused"))
        log.warning("%s: refused %s %s%s before sending: %s", self.source, method, host, path, reason)
        return ReadOnlyViolation(self.source, method, path, reason)

    def _check_scheme(self, method: str, parts) -> None:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self._refuse(method, _host_of(parts), parts.path or "/", "the URL must be an http or https URL")
        if parts.scheme == "http" and self.policy.scheme == "https" and not is_loopback(parts.hostname):
            raise self._refuse(method, _host_of(parts), parts.path or "/", "plain http to a source configured as https; use https")

    def _check_base_url(self) -> None:
        self._check_scheme("ANY", self._base)

    def _relative_path(self, method: str, target: str, attempt: int) -> str:
        """Return the path of `target` below the base URL, or raise if it points anywhere else."""
        if "://" not in target:
            return "/" + target.lstrip("/").split("?", 1)[0]
        parts = urlsplit(target)
        self._check_scheme(method, parts)
        if (parts.hostname, parts.port) != (self._base.hostname, self._base.port):
            raise self._refuse(method, _host_of(parts), parts.path or "/", "another host than the configured base URL", attempt)
        if parts.scheme != self._base.scheme and self._base.scheme == "https":
            raise self._refuse(method, _host_of(parts), parts.path or "/", "a downgrade from https to http", attempt)
        base_path = self._base.path.rstrip("/")
        if not parts.path.startswith(base_path + "/") and parts.path != base_path:
            raise self._refuse(method, _host_of(parts), parts.path, "a path outside the configured base URL", attempt)
        return parts.path[len(base_path):] or "/"

    def check(self, method: str, target: str, attempt: int = 1) -> str:
        """Return the endpoint template a request matches, or raise ReadOnlyViolation."""
        method = method.upper()
        path = self._relative_path(method, target, attempt)
        endpoint = self.policy.find_endpoint(method, self.service, path)
        if endpoint is None:
            raise self._refuse(method, _host_of(self._base), path, "not on the allowlist in data/api_policy.yml", attempt)
        return endpoint.path

    # -- waits and deadlines -------------------------------------------------------------------

    def backoff(self, failures: int) -> float:
        """Return the wait after the n-th failed attempt: full jitter below an exponential ceiling."""
        retry = self.policy.retry
        ceiling = min(retry.backoff_cap_s, retry.backoff_base_s * 2 ** (failures - 1))
        return ceiling * self._jitter() if retry.jitter == "full" else ceiling

    def _remaining_deadline(self) -> float:
        return self.policy.timeouts.deadline_s - (self.clock.monotonic() - self._started)

    def _sleep(self, seconds: float, template: str) -> None:
        log.info("%s %s: retrying in %.2f s", self.source, template, seconds)
        self.clock.sleep(seconds)

    # -- sending -------------------------------------------------------------------------------

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
        attempt = failures = redirects = 0

        while True:
            attempt += 1
            remaining = self._remaining_deadline()
            if remaining <= 0:
                raise SourceUnavailable(self.source, f"the deadline of {self.policy.timeouts.deadline_s:g} s for this run was reached", endpoint=template)
            response, error = self._send_once(method, url, template, attempt, params, data, merged_headers, remaining)

            if response is not None and response.status_code in REDIRECT_STATUSES and response.status_code not in ok_statuses:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise SourceError(self.source, f"more than {MAX_REDIRECTS} redirects", endpoint=template, http_status=response.status_code)
                if response.status_code == 303:
                    method, data = "GET", None
                url = urljoin(url, response.headers.get("Location", ""))
                template = self.check(method, url, attempt + 1)
                continue

            if response is not None and not is_retryable(response):
                self._raise_for_status(response, template, ok_statuses)
                return response

            failures += 1
            self._before_retry(response, error, template, failures)

    def _before_retry(self, response: requests.Response | None, error: str | None, template: str, failures: int) -> None:
        """Sleep before the next attempt, or raise when there is none worth making."""
        retry = self.policy.retry
        status = response.status_code if response is not None else None
        what = error or f"HTTP {status} ({_content_type(response)})"
        wait = server_wait(response, self.clock.time()) if response is not None else None

        if wait is not None and wait > retry.max_wait_s:
            raise _with_headers(SourceDeferred(
                self.source, f"{what}: the server asks to wait {wait:.0f} s, more than the policy's {retry.max_wait_s:g} s; deferred to the next run",
                wait_s=wait, endpoint=template, http_status=status,
            ), response)
        if failures >= retry.attempts:
            raise _with_headers(SourceUnavailable(self.source, f"{what} after {failures} attempts", endpoint=template, http_status=status), response)
        if wait is not None and wait >= self._remaining_deadline():
            raise _with_headers(SourceDeferred(
                self.source, f"{what}: the server asks to wait {wait:.0f} s, past the deadline of this run; deferred to the next run",
                wait_s=wait, endpoint=template, http_status=status,
            ), response)

        if wait is None:
            wait = self.backoff(failures)
        elif wait == SECONDARY_LIMIT_WAIT_S:
            wait = max(wait, self.backoff(failures))
        if wait >= self._remaining_deadline():
            raise SourceUnavailable(self.source, f"{what}; a retry in {wait:.1f} s would pass the deadline of this run", endpoint=template, http_status=status)
        self._sleep(wait, template)

    def _send_once(self, method, url, template, attempt, params, data, headers, remaining):
        timeouts = self.policy.timeouts
        budget = min(timeouts.attempt_s, remaining)
        started = self.clock.monotonic()
        response = None
        error = None
        body = b""
        try:
            # NOTE: attempt_s is checked only once the headers are in; headers that drip in slowly
            # are bounded by read_s per socket read alone.
            response = self.session.request(
                method, url, params=params, data=data, headers=headers, stream=True, allow_redirects=False,
                timeout=(min(timeouts.connect_s, budget), min(timeouts.read_s, budget)),
            )
            body = self._read_body(response, started, budget)
        except (_AttemptTimedOut, *_TIMEOUT_ERRORS):
            error = f"timed out (connect {timeouts.connect_s:g} s, read {timeouts.read_s:g} s, attempt {budget:g} s)"
        except _INCOMPLETE_ERRORS:
            error = "incomplete body (the connection closed early)" if response is not None else "connection failed"
        except _CONNECTION_ERRORS:
            error = "connection failed"
        if error is not None and response is not None:
            response.close()
            response = None

        duration_ms = int((self.clock.monotonic() - started) * 1000)
        status = response.status_code if response is not None else None
        self.audit.add(AuditEntry(
            source=self.source, service=self.service, method=method, host=_host_of(self._base),
            path_template=template, attempt=attempt, status=status, duration_ms=duration_ms, bytes=len(body),
            outcome=error.split(" (")[0] if error else _outcome(status),
        ))
        log.info(
            "%s %s %s%s -> %s (attempt %d, %d ms, %d bytes)",
            self.source, method, _host_of(self._base), template, status if status is not None else error, attempt, duration_ms, len(body),
        )
        return response, error

    def _read_body(self, response: requests.Response, started: float, budget: float) -> bytes:
        """Read the whole body, raising _AttemptTimedOut once the attempt passes its budget."""
        chunks = []
        try:
            while True:
                if self.clock.monotonic() - started > budget:
                    raise _AttemptTimedOut()
                # read1 returns whatever arrived, so a slow drip is checked against the budget
                # between small reads instead of blocking until a whole chunk is in.
                chunk = _read_chunk(response.raw)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            response.close()
        body = b"".join(chunks)
        response._content = body
        response._content_consumed = True
        return body

    def _raise_for_status(self, response: requests.Response, template: str, ok_statuses: frozenset[int]) -> None:
        status = response.status_code
        if 200 <= status < 300 or status in ok_statuses:
            return
        detail = describe_error_body(response)
        if status in (401, 403):
            raise AuthError(self.source, f"HTTP {status}: {detail}", endpoint=template, http_status=status)
        raise SourceError(self.source, f"HTTP {status}: {detail}", endpoint=template, http_status=status)


def _outcome(status: int | None) -> str:
    if status is None:
        return "no response"
    if status in REDIRECT_STATUSES:
        return "redirect"
    return "ok" if status < 400 else "error"


def _content_type(response: requests.Response | None) -> str:
    if response is None:
        return "no response"
    return (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()


def describe_error_body(response: requests.Response, limit: int = 200) -> str:
    """Return a short, scrubbed description of an error body: its message field, or its type and size."""
    try:
        body = response.json()
    except ValueError:
        return f"a {_content_type(response)} body of {len(response.content)} bytes ({response.reason or 'no reason'})"
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
    try:
        return response.json()
    except ValueError:
        raise ResponseFormatError(
            source,
            f"expected a JSON body but got {_content_type(response)!r} ({len(response.content)} bytes) with HTTP {response.status_code}",
            endpoint=template,
            http_status=response.status_code,
        ) from None


class PageGuard:
    """Stops a pagination loop whose next link, token or offset repeats, or that runs too long.

    Source modules call check() with each page's continuation before requesting it.
    """

    def __init__(self, source: str, endpoint: str, max_pages: int = 1000):
        self.source = source
        self.endpoint = endpoint
        self.max_pages = max_pages
        self._seen: set[Hashable] = set()

    def check(self, token: Hashable) -> None:
        # The message never shows the token: a next link can carry a credential in its query.
        if token in self._seen:
            raise ResponseFormatError(self.source, f"pagination repeated a page after {len(self._seen)} pages; stopped instead of looping", endpoint=self.endpoint)
        if len(self._seen) >= self.max_pages:
            raise ResponseFormatError(self.source, f"pagination passed {self.max_pages} pages; stopped", endpoint=self.endpoint)
        self._seen.add(token)
