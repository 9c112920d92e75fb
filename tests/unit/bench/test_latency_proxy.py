"""The benchmark's latency proxy frames HTTP/1.1 messages, so its delay is per request and
keep-alive connections carry many requests."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest

from scripts.benchmarks.latency_proxy import (
    CONTINUE,
    FramingError,
    Message,
    body_framing,
    hop_by_hop_removed,
    read_body,
    read_head,
    serve_connection,
)


def head(text: str) -> Message:
    message = read_head(io.BytesIO(text.encode()))
    assert message is not None
    return message


def test_a_request_with_content_length_has_that_many_bytes() -> None:
    request = head("PUT /b/k HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n\r\n")
    assert body_framing(request) == ("length", 5)
    assert read_body(io.BytesIO(b"hello, more"), ("length", 5)) == b"hello"


def test_a_request_without_length_or_chunks_has_no_body() -> None:
    assert body_framing(head("GET /b?list-type=2 HTTP/1.1\r\nHost: x\r\n\r\n")) == ("none", 0)


def test_a_response_to_head_has_no_body_whatever_its_length_says() -> None:
    response = head("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
    assert body_framing(response, "HEAD") == ("none", 0)
    assert body_framing(response, "GET") == ("length", 1234)


@pytest.mark.parametrize("status", ["100 Continue", "204 No Content", "304 Not Modified"])
def test_responses_without_a_body(status: str) -> None:
    assert body_framing(head(f"HTTP/1.1 {status}\r\nContent-Length: 9\r\n\r\n"), "GET") == (
        "none",
        0,
    )


def test_a_response_without_length_is_read_to_the_close() -> None:
    response = head("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    assert body_framing(response, "GET") == ("close", 0)
    assert read_body(io.BytesIO(b"all of it"), ("close", 0)) == b"all of it"


def test_a_chunked_body_is_copied_verbatim_with_its_trailers() -> None:
    message = head("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    wire = b"4;ext=1\r\nabcd\r\n2\r\nef\r\n0\r\nx-amz-checksum-crc32: AAAA\r\n\r\n"
    assert body_framing(message) == ("chunked", 0)
    assert read_body(io.BytesIO(wire + b"NEXT"), ("chunked", 0)) == wire


def test_a_body_cut_short_is_an_error_not_a_short_message() -> None:
    with pytest.raises(FramingError):
        read_body(io.BytesIO(b"abc"), ("length", 5))
    with pytest.raises(FramingError):
        read_body(io.BytesIO(b"zz\r\n"), ("chunked", 0))


def test_heads_are_read_one_after_another_and_none_at_the_end() -> None:
    stream = io.BytesIO(b"GET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\nX: 1\r\n\r\n")
    first, second = read_head(stream), read_head(stream)
    assert first is not None and second is not None
    assert (first.start[1], second.start[1], second.header("x")) == (b"/a", b"/b", "1")
    assert read_head(stream) is None
    with pytest.raises(FramingError):
        read_head(io.BytesIO(b"GET /a HTTP/1.1\r\nHost: x"))


def test_keep_alive_by_version_and_connection_header() -> None:
    assert head("GET / HTTP/1.1\r\n\r\n").keeps_alive()
    assert not head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keeps_alive()
    assert not head("HTTP/1.0 200 OK\r\n\r\n").keeps_alive()
    assert head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").keeps_alive()


def test_hop_by_hop_headers_are_not_forwarded() -> None:
    message = head(
        "GET / HTTP/1.1\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nHost: x\r\n\r\n"
    )
    assert hop_by_hop_removed(message).lines == [b"GET / HTTP/1.1", b"Host: x"]


def test_without_drops_a_header_and_keeps_the_rest() -> None:
    message = head("PUT /k HTTP/1.1\r\nExpect: 100-continue\r\nHost: x\r\n\r\n").without("expect")
    assert message.wire() == b"PUT /k HTTP/1.1\r\nHost: x\r\n\r\n"


class FakeUpstream:
    """The upstream side: records what it was sent, answers each request with its path."""

    def __init__(self) -> None:
        self.requests: list[Message] = []
        self.closed = False

    def exchange(self, request: Message) -> Message:
        self.requests.append(request)
        body = request.start[1]
        # As moto's server does: it closes after every response.
        head = [b"HTTP/1.1 200 OK", f"Content-Length: {len(body)}".encode(), b"Connection: close"]
        return Message(head, body)

    def close(self) -> None:
        self.closed = True


def read_response(reader: io.BufferedReader, method: str = "GET") -> Message:
    response = read_head(reader)
    assert response is not None
    response.body = read_body(reader, body_framing(response, method))
    return response


def test_one_connection_carries_several_requests_each_delayed_once() -> None:
    client, proxy_side = socket.socketpair()
    upstream = FakeUpstream()
    delay = 0.05
    worker = threading.Thread(target=serve_connection, args=(proxy_side, upstream, delay))
    started = time.perf_counter()
    worker.start()
    reader = client.makefile("rb")
    client.sendall(b"PUT /first HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    assert reader.readline() + reader.readline() == CONTINUE  # answered before the body
    client.sendall(b"abc")
    first = read_response(reader)
    assert first.body == b"/first"
    assert first.header("Connection") is None  # the client's connection stays open
    client.sendall(b"GET /second HTTP/1.1\r\nConnection: close\r\n\r\n")
    second = read_response(reader)
    assert (second.body, second.header("Connection")) == (b"/second", "close")
    worker.join(5)
    elapsed = time.perf_counter() - started
    assert not worker.is_alive()  # Connection: close ended it
    assert reader.read() == b""
    assert [r.start[1] for r in upstream.requests] == [b"/first", b"/second"]
    assert upstream.requests[0].header("Expect") is None  # not a second wait upstream
    assert upstream.requests[0].body == b"abc"
    assert 2 * delay <= elapsed < 2 * delay + 2
    assert upstream.closed
    client.close()
