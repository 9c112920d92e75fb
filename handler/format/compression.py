"""Streaming codecs for object bodies: gzip (default), zstd or none."""

from __future__ import annotations

import gzip
import io
import threading
import zlib
from dataclasses import dataclass
from typing import IO, Literal, Protocol, cast

import zstandard

CodecName = Literal["gzip", "zstd", "none"]


class Compressor(Protocol):
    def compress(self, data: bytes | bytearray | memoryview) -> bytes: ...

    def flush(self) -> bytes: ...


class _Identity:
    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        return bytes(data)

    def flush(self) -> bytes:
        return b""


class _ZstdFrames:
    """One zstd frame per chunk, from one compression context per thread, shared by every
    open object.

    A streaming context per open object holds its window (megabytes) for the object's life:
    with 64 partitions that alone outgrew the memory budget. Concatenated frames are a valid
    zstd file (RFC 8878), and a one-shot compress of a chunk is also the fastest call. A
    context must never be used by two threads at once, hence one per thread (in a run, only
    the compression worker's is used for the data)."""

    def __init__(self, level: int) -> None:
        self._level = level

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        return _zstd_context(self._level).compress(data) if data else b""

    def flush(self) -> bytes:
        return b""


_CONTEXTS = threading.local()


def _zstd_context(level: int) -> zstandard.ZstdCompressor:
    contexts: dict[int, zstandard.ZstdCompressor] = _CONTEXTS.__dict__.setdefault("by_level", {})
    context = contexts.get(level)
    if context is None:
        context = contexts[level] = zstandard.ZstdCompressor(level=level)
    return context


@dataclass(frozen=True)
class Codec:
    name: CodecName
    extension: str
    content_type: str
    default_level: int

    def compressor(self, level: int | None = None) -> Compressor:
        chosen = self.default_level if level is None else level
        if self.name == "gzip":
            # wbits 31 = gzip framing, so the object is a plain .gz any tool can open.
            return zlib.compressobj(chosen, zlib.DEFLATED, 31)
        if self.name == "zstd":
            return _ZstdFrames(chosen)
        return _Identity()

    def reader(self, body: IO[bytes]) -> IO[bytes]:
        """A file object yielding the decompressed bytes of `body`."""
        if self.name == "gzip":
            return cast(IO[bytes], gzip.GzipFile(fileobj=body, mode="rb"))
        if self.name == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
            return cast(IO[bytes], io.BufferedReader(reader))
        return body


CODECS: dict[str, Codec] = {
    "gzip": Codec("gzip", ".jsonl.gz", "application/gzip", 6),
    "zstd": Codec("zstd", ".jsonl.zst", "application/zstd", 3),
    "none": Codec("none", ".jsonl", "application/x-ndjson", 0),
}


def codec_for_key(key: str) -> Codec:
    """The codec an object was written with, from its name."""
    for codec in sorted(CODECS.values(), key=lambda c: -len(c.extension)):
        if key.endswith(codec.extension):
            return codec
    raise ValueError(f"'{key}' is not a Kafka Beat object (expected .jsonl, .jsonl.gz, .jsonl.zst)")
