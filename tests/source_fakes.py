"""A loopback HTTP server for the source tests: each route returns the response the test sets.

A route is (method, path) -> a function of the received request returning (status, headers, body);
a body that is not str or bytes is sent as JSON. Every request is kept in `requests`, so a test
can check what the source sent (headers, query, form) as well as what it wrote.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import yaml

from monlab.redact import is_secret_name


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str


Route = Callable[[Received], tuple[int, dict[str, str], Any]]


class FakeAPI:
    """A loopback server on a free port; use it as a context manager."""

    def __init__(self, routes: dict[tuple[str, str], Route]):
        self.routes = routes
        self.requests: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakeAPI":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self, path: str) -> list[Received]:
        return [request for request in self.requests if request.path == path]

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length).decode("utf-8") if length else "",
                )
                fake.requests.append(request)
                route = fake.routes.get((self.command, parts.path)) or _probe_route(self.command, parts.path)
                if route is None:
                    status, headers, body = 404, {}, {"message": "Not Found"}
                else:
                    status, headers, body = route(request)
                if isinstance(body, str):
                    payload = body.encode("utf-8")
                elif isinstance(body, bytes) or body is None:
                    payload = body or b""
                else:
                    payload = json.dumps(body).encode("utf-8")
                    headers = {"Content-Type": "application/json", **headers}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler


def cassette_routes(path) -> dict[tuple[str, str], Route]:
    """Return routes that serve a cassette's recorded responses.

    A request gets the recorded response whose query matches its own once secret parameters are
    left out, so each location or page gets its own body. A request that matches none gets the
    responses of its (method, path) in recorded order.
    """
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    recorded: dict[tuple[str, str], list] = {}
    for interaction in document["interactions"]:
        request, response = interaction["request"], interaction["response"]
        parts = urlsplit(request["uri"])
        headers = {name: ", ".join(values) for name, values in response["headers"].items()}
        answer = (response["status"]["code"], headers, response["body"]["string"])
        recorded.setdefault((request["method"], parts.path), []).append((_public_query(parse_qs(parts.query)), answer))
    return {route: _matching_query(entries) for route, entries in recorded.items()}


def _public_query(query: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: values for name, values in query.items() if not is_secret_name(name)}


def _matching_query(entries: list) -> Route:
    fallback = in_turn(*(answer for _, answer in entries))

    def route(request: Received):
        for query, answer in entries:
            if query == _public_query(request.query):
                return answer
        return fallback(request)

    return route


def always(status: int, body: Any, headers: dict[str, str] | None = None) -> Route:
    """Return a route that sends the same response to every request."""
    return lambda request: (status, dict(headers or {}), body)


def in_turn(*answers: tuple[int, dict[str, str], Any]) -> Route:
    """Return a route that sends the responses in order, repeating the last one."""
    remaining = list(answers)

    def route(request: Received):
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return route


# Responses to the read-only probes the preflight checklist sends before a live run, so that tests
# of other endpoints need not list them.
_PROBE_BODIES = {
    ("GET", "/rate_limit"): {"resources": {"core": {"limit": 5000, "remaining": 4999, "reset": 1796104800, "used": 1}}, "rate": {"limit": 5000, "remaining": 4999, "reset": 1796104800, "used": 1}},
    ("GET", "/api/v1/status/buildinfo"): {"status": "success", "data": {"version": "2.42.0"}},
    ("GET", "/api/v2/status"): {"cluster": {"status": "disabled"}, "versionInfo": {"version": "0.25.0"}},
    ("POST", "/v2/getAccountDetails"): {"stat": "ok", "account": {"email": "lab@example.com", "monitor_limit": 50}},
}


def _probe_route(method: str, path: str) -> Route | None:
    for (probe_method, suffix), body in _PROBE_BODIES.items():
        if method == probe_method and path.endswith(suffix):
            return always(200, body)
    return None

