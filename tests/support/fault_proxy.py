"""An HTTP proxy in front of the moto S3 server that injects faults on purpose.

boto3 talks to the proxy exactly as to S3; each request is forwarded to moto unless a rule says
to answer with an error instead (a 503 SlowDown, a 500) or to drop the connection; with
`delay_seconds`, each request takes that much longer, as over a network.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}


@dataclass
class Rule:
    """Fault requests whose method and path match, with the given probability."""

    method: str
    path: re.Pattern[str]
    status: int = 503
    probability: float = 1.0
    drop_connection: bool = False
    after_forwarding: bool = False
    """Forward the request, then lose the response: the write happened, the client sees a
    failure (a lost response)."""


@dataclass
class FaultProxy:
    upstream_port: int
    rules: list[Rule] = field(default_factory=list)
    strip_headers: tuple[str, ...] = ()
    """Request headers dropped on the way, e.g. If-None-Match to play a store without
    conditional writes."""
    seed: int = 0
    delay_seconds: float = 0.0
    """Added to every request before it is answered: a store's round trip over a network."""
    faults: int = 0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """Every request seen: method, path, headers."""
    _server: ThreadingHTTPServer | None = None
    _random: random.Random = field(default_factory=random.Random)

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._random.seed(self.seed)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                expected = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(expected)

            def _handle(self) -> None:
                body = self._body()
                if len(body) < int(self.headers.get("Content-Length") or 0):
                    # The client died mid-body: S3 never stores a request cut short.
                    self.close_connection = True
                    return
                proxy.requests.append((self.command, self.path, dict(self.headers.items())))
                if proxy.delay_seconds:
                    time.sleep(proxy.delay_seconds)
                rule = proxy._match(self.command, self.path)
                if rule and not rule.after_forwarding:
                    self._fault(rule)
                    return
                status, headers, payload = proxy._forward(
                    self.command, self.path, self.headers, body
                )
                if rule:
                    self._fault(rule)
                    return
                self.send_response(status)
                head = self.command == "HEAD"
                for name, value in headers:
                    lowered = name.lower()
                    if lowered not in _HOP_BY_HOP and (head or lowered != "content-length"):
                        self.send_header(name, value)
                if not head:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _fault(self, rule: Rule) -> None:
                proxy.faults += 1
                if rule.drop_connection:
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = (
                    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>'
                    + {503: b"SlowDown", 403: b"AccessDenied"}.get(rule.status, b"InternalError")
                    + b"</Code><Message>injected</Message></Error>"
                )
                self.send_response(rule.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def _match(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            matches = rule.method == method and rule.path.search(path)
            if matches and self._random.random() < rule.probability:
                return rule
        return None

    def _forward(
        self, method: str, path: str, headers: object, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        try:
            dropped = _HOP_BY_HOP | {name.lower() for name in self.strip_headers}
            forwarded = {
                name: value
                for name, value in headers.items()  # type: ignore[attr-defined]
                if name.lower() not in dropped
            }
            forwarded["Content-Length"] = str(len(body))
            sent = body if body or method in ("PUT", "POST") else None
            connection.request(method, path, body=sent, headers=forwarded)
            response = connection.getresponse()
            payload = b"" if method == "HEAD" else response.read()
            return response.status, response.getheaders(), payload
        finally:
            connection.close()


@contextlib.contextmanager
def proxied(
    upstream_port: int, rules: list[Rule] | None = None, **options: Any
) -> Iterator[FaultProxy]:
    """A started proxy in front of the moto server, stopped when the block ends."""
    proxy = FaultProxy(upstream_port, rules or [], **options).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def every(method: str, pattern: str, **options: object) -> Rule:
    return Rule(method, re.compile(pattern), **options)  # type: ignore[arg-type]
