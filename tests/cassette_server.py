"""A loopback HTTP server that serves the responses of recorded cassettes, for live-mode tests.

It answers each request with the first unplayed interaction of the same method and path, and
records what it received, so a test can run monlab in live mode with no outside network.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import yaml


class CassetteServer:
    """Serve the interactions of one or more cassette files on 127.0.0.1 and an ephemeral port."""

    def __init__(self, *cassettes: Path):
        self.interactions = []
        for path in cassettes:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            self.interactions.extend(document["interactions"])
        self.played: set[int] = set()
        # Responses served for every request to (method, path), such as the preflight probes.
        self.extra: dict[tuple[str, str], dict] = {}
        self.received: list[dict] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _next_response(self, method: str, path: str) -> dict | None:
        """Return the first unplayed response for (method, path); once all are played, the last one again."""
        with self._lock:
            last = None
            for index, interaction in enumerate(self.interactions):
                request = interaction["request"]
                if request["method"] != method or urlsplit(request["uri"]).path != path:
                    continue
                last = interaction["response"]
                if index not in self.played:
                    self.played.add(index)
                    return last
        return last

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                parts = urlsplit(self.path)
                server.received.append({"method": self.command, "path": parts.path, "query": parts.query, "body": body, "headers": dict(self.headers)})
                response = server.extra.get((self.command, parts.path)) or server._next_response(self.command, parts.path)
                if response is None:
                    self.send_error(404, "no recorded interaction left for this request")
                    return
                payload = response["body"]["string"]
                payload = payload.encode("utf-8") if isinstance(payload, str) else payload
                self.send_response(response["status"]["code"], response["status"]["message"])
                for name, values in response["headers"].items():
                    for value in values:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> "CassetteServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
