"""Helpers for the break/fix drills and the fetch tests: a loopback HTTP server that misbehaves on
purpose, and a clock whose sleeps return at once.

FlakyServer responds to each connection with the next step of its script (a status sequence, a delay,
a reset, a truncated or slowly dripping body, a redirect) and counts the connections it accepted,
so a test can prove that a refused request never reached it. It listens on loopback only.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence
from urllib.parse import parse_qsl, urlsplit

# 2026-12-01T06:00:00Z, the recording time of the shipped cassettes, so drill output is stable.
DRILL_EPOCH = 1796104800.0


@dataclass(frozen=True)
class Received:
    """One request as the server read it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """One scripted response. `body` may be a function of the request, to echo what the client sent.

    delay_s waits before the status line; drip_s sends the body one byte at a time with that pause;
    truncate_to sends only that many body bytes of the announced Content-Length, then closes.
    """

    status: int = 200
    body: bytes | str | Callable[[Received], bytes | str] = b"{}"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drip_s: float = 0.0
    truncate_to: int | None = None


@dataclass(frozen=True)
class Reset:
    """Read the request, then close the connection with a TCP reset."""


@dataclass(frozen=True)
class Stall:
    """Accept the connection and send nothing until the server stops (a stalled TLS handshake or
    response)."""

    read_request: bool = False


Step = Reply | Reset | Stall

_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class FlakyServer:
    """A loopback HTTP/1.1 server that responds to connection n with step n of its script.

    After the script runs out it responds with status 599, so a test that sends more requests than it planned
    gets a visible failure. Use it as a context manager, and `url` is its base URL.
    """

    def __init__(self, steps: Sequence[Step], *, host: str = "127.0.0.1"):
        if host not in ("127.0.0.1", "::1"):
            raise ValueError(f"FlakyServer listens on loopback only, not on {host!r}")
        self.steps = list(steps)
        self.host = host
        self.connections = 0
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self.port = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> "FlakyServer":
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=2)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                step = self.steps.pop(0) if self.steps else Reply(599, b'{"message": "the drill script ran out"}')
            thread = threading.Thread(target=self._serve, args=(connection, step), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, connection: socket.socket, step: Step) -> None:
        connection.settimeout(5)
        try:
            if isinstance(step, Stall) and not step.read_request:
                self._stopping.wait()
                return
            request = self._read_request(connection)
            if request is None:
                return
            with self._lock:
                self.received.append(request)
            if isinstance(step, Stall):
                self._stopping.wait()
            elif isinstance(step, Reset):
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self._reply(connection, step, request)
        except OSError:
            pass
        finally:
            connection.close()

    def _read_request(self, connection: socket.socket) -> Received | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        parts = urlsplit(target)
        return Received(method, parts.path, dict(parse_qsl(parts.query)), headers, body)

    def _reply(self, connection: socket.socket, reply: Reply, request: Received) -> None:
        if reply.delay_s and self._stopping.wait(reply.delay_s):
            return
        body = reply.body(request) if callable(reply.body) else reply.body
        body = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"Content-Type": reply.content_type, "Content-Length": str(len(body)), "Connection": "close", **reply.headers}
        head = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        connection.sendall(head.encode("latin-1"))
        if reply.truncate_to is not None:
            connection.sendall(body[: reply.truncate_to])
            return
        if not reply.drip_s:
            connection.sendall(body)
            return
        for index in range(len(body)):
            if self._stopping.wait(reply.drip_s):
                return
            connection.sendall(body[index:index + 1])


class FakeClock:
    """A clock for GuardedClient whose sleep() records the wait and moves time forward at once.

    monotonic() is the real monotonic clock plus every wait slept, so timeouts on real sockets
    still count; time() is a fixed wall clock (DRILL_EPOCH unless given) plus the waits.
    """

    def __init__(self, wall_start: float = DRILL_EPOCH):
        self.wall_start = wall_start
        self.sleeps: list[float] = []

    @property
    def slept(self) -> float:
        return sum(self.sleeps)

    def monotonic(self) -> float:
        return time.monotonic() + self.slept

    def time(self) -> float:
        return self.wall_start + self.slept

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
