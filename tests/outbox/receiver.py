"""A real HTTP receiver (stdlib http.server on a loopback port) that records what it is sent.

``stop()`` closes the socket (the receiver is down: connection refused); ``start()`` opens it again
on the same port, so a queued message can be retried against the same URL.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str  # raw request target, query string included, as sent
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    answer: dict[str, object] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    status: int = 200
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                rec.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(n))
                )
                out = json.dumps(rec.answer).encode()
                self.send_response(rec.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
