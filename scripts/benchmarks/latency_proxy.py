"""A loopback HTTP/1.1 proxy that holds every request for a fixed delay before forwarding it:
the moto S3 server with a round trip like a real S3 endpoint's.

The delay is per HTTP request, not per TCP read, so the proxy frames messages (Content-Length,
chunked, or a response read to its close) and keeps the client's connection alive between
requests, as boto3 reuses its connections and a real S3 endpoint keeps them open (moto's
server closes its side after every response; the proxy then connects again, on loopback).
`Expect: 100-continue` (boto3 sends it on PutObject) is answered here, and the header dropped
upstream, so the client's wait for "100 Continue" is not a second delay.

Run as `python -m scripts.benchmarks.latency_proxy UPSTREAM DELAY_MS` from the repository root:
prints its own endpoint, http://127.0.0.1:PORT, on the first line of stdout, then serves until
killed.
Standard library only, one thread per client connection.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

CRLF = b"\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_MAX_HEAD_LINES = 200


class FramingError(ValueError):
    """A message the proxy cannot frame (the connection is closed)."""


@dataclass
class Message:
    """One HTTP request or response: its head lines (start line first, no CRLFs) and its body
    exactly as framed on the wire (chunk sizes included)."""

    lines: list[bytes]
    body: bytes = b""

    @property
    def start(self) -> list[bytes]:
        return self.lines[0].split(b" ", 2)

    def header(self, name: str) -> str | None:
        """The last value of a header (names compare case-insensitively)."""
        wanted = name.lower().encode()
        found = None
        for line in self.lines[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == wanted:
                found = value.strip().decode("latin-1")
        return found

    def without(self, name: str) -> Message:
        wanted = name.lower().encode()
        kept = [self.lines[0]]
        kept += [line for line in self.lines[1:] if line.partition(b":")[0].lower() != wanted]
        return Message(kept, self.body)

    def wire(self) -> bytes:
        return CRLF.join(self.lines) + CRLF + CRLF + self.body

    def keeps_alive(self) -> bool:
        connection = (self.header("Connection") or "").lower()
        if self.lines[0].endswith(b"HTTP/1.0") or self.start[0] == b"HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


def body_framing(message: Message, request_method: str | None = None) -> tuple[str, int]:
    """How the body of `message` is delimited (RFC 9112 §6.3): ("none", 0), ("length", n),
    ("chunked", 0), or ("close", 0) for a response read until the server closes.
    `request_method` is given for a response (a HEAD's response has no body)."""
    is_response = request_method is not None
    if is_response:
        status = int(message.start[1])
        if request_method == "HEAD" or 100 <= status < 200 or status in (204, 304):
            return "none", 0
    encoding = (message.header("Transfer-Encoding") or "").lower()
    if encoding:
        if encoding.split(",")[-1].strip() == "chunked":
            return "chunked", 0
        if not is_response:
            raise FramingError(f"a request with Transfer-Encoding {encoding!r} and no chunked")
        return "close", 0
    length = message.header("Content-Length")
    if length is not None:
        if not length.isdigit():
            raise FramingError(f"Content-Length {length!r}")
        return "length", int(length)
    return ("close", 0) if is_response else ("none", 0)


def read_head(reader: BinaryIO) -> Message | None:
    """The start line and headers of the next message; None at a clean end of the stream."""
    lines: list[bytes] = []
    while True:
        line = reader.readline(65536)
        if not line:
            if lines:
                raise FramingError("the connection closed inside a message head")
            return None
        line = line.rstrip(b"\r\n")
        if not line:
            if lines:
                return Message(lines)
            continue  # stray CRLF between messages (RFC 9112 §2.2 allows ignoring it)
        lines.append(line)
        if len(lines) > _MAX_HEAD_LINES:
            raise FramingError("a message head of more than 200 lines")


def read_body(reader: BinaryIO, framing: tuple[str, int]) -> bytes:
    kind, length = framing
    if kind == "none":
        return b""
    if kind == "length":
        return _read_exact(reader, length)
    if kind == "close":
        return reader.read()
    parts: list[bytes] = []
    while True:  # chunked, copied verbatim: size line, data, CRLF ... 0, trailers, CRLF
        size_line = reader.readline(65536)
        parts.append(size_line)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise FramingError(f"chunk size line {size_line[:40]!r}") from exc
        if size == 0:
            while True:
                trailer = reader.readline(65536)
                parts.append(trailer)
                if trailer in (CRLF, b"\n", b""):
                    return b"".join(parts)
        parts.append(_read_exact(reader, size + 2))


def _read_exact(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise FramingError(f"the connection closed {size - len(data)} bytes before the body's end")
    return data


class Upstream:
    """One keep-alive connection to the upstream server, opened again when it was closed."""

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None

    def exchange(self, request: Message) -> Message:
        method = request.start[0].decode("latin-1")
        for attempt in (1, 2):
            fresh = self._sock is None
            sock, reader = self._connect()
            try:
                sock.sendall(request.wire())
                response = read_head(reader)
                while response is not None and response.start[1].startswith(b"1"):
                    response = read_head(reader)  # interim 1xx: answered to the client already
            except OSError:
                response = None
            if response is None:
                self.close()
                # The server closed an idle connection as we reused it: once more, new one.
                if attempt == 1 and not fresh:
                    continue
                raise FramingError("the upstream closed the connection without a response")
            framing = body_framing(response, method)
            response.body = read_body(reader, framing)
            if framing[0] == "close" or not response.keeps_alive():
                self.close()
            return response
        raise AssertionError("unreachable")

    def _connect(self) -> tuple[socket.socket, BinaryIO]:
        if self._sock is None or self._reader is None:
            self._sock = socket.create_connection(self._address)
            _no_delay(self._sock)
            self._reader = self._sock.makefile("rb")
        return self._sock, self._reader

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._reader is not None:
                self._reader.close()
            if self._sock is not None:
                self._sock.close()
        self._sock = self._reader = None


def hop_by_hop_removed(message: Message) -> Message:
    """The message without the headers that concern one connection only."""
    for name in (message.header("Connection") or "").split(","):
        if name.strip():
            message = message.without(name.strip())
    return message.without("Connection").without("Keep-Alive")


def _no_delay(sock: socket.socket) -> None:
    """Send small writes at once: with Nagle's algorithm and delayed ACKs, a head written apart
    from its body waits ~40 ms for the peer's ACK, a second, unintended delay."""
    with contextlib.suppress(OSError):  # not a TCP socket (a test's socketpair)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def serve_connection(client: socket.socket, upstream: Upstream, delay_seconds: float) -> None:
    """Requests of one client connection, one at a time: read it whole, wait, forward it,
    send the response back."""
    _no_delay(client)
    reader = client.makefile("rb")
    try:
        while True:
            request = read_head(reader)
            if request is None:
                return
            if (request.header("Expect") or "").lower() == "100-continue":
                client.sendall(CONTINUE)
                request = request.without("Expect")
            request.body = read_body(reader, body_framing(request))
            time.sleep(delay_seconds)
            response = upstream.exchange(hop_by_hop_removed(request))
            # Each side's persistence is its own (Connection is hop-by-hop, RFC 9110 §7.6.1):
            # moto closes after every response, the client's connection stays open, as a
            # real S3 endpoint's does.
            method = request.start[0].decode("latin-1")
            closes = body_framing(response, method)[0] == "close" or not request.keeps_alive()
            response = hop_by_hop_removed(response)
            if closes:
                response.lines.append(b"Connection: close")
            client.sendall(response.wire())
            if closes:
                return
    except (OSError, FramingError) as exc:
        print(f"latency proxy: connection closed: {exc}", file=sys.stderr, flush=True)
    finally:
        upstream.close()
        with contextlib.suppress(OSError):
            reader.close()  # the socket's file descriptor stays open while its file does
            client.close()


def serve(upstream_url: str, delay_ms: float) -> None:
    target = urlsplit(upstream_url)
    if target.scheme != "http" or target.hostname is None or target.port is None:
        raise SystemExit(f"upstream {upstream_url!r}: give http://HOST:PORT")
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    host, port = target.hostname, target.port
    while True:
        client, _ = listener.accept()
        threading.Thread(
            target=serve_connection,
            args=(client, Upstream(host, port), delay_ms / 1000),
            daemon=True,
        ).start()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(
            "usage: python -m scripts.benchmarks.latency_proxy http://HOST:PORT DELAY_MS"
        )
    serve(sys.argv[1], float(sys.argv[2]))
