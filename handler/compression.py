"""Streaming codecs for object bodies: gzip (default), zstd or none."""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from typing import IO, Literal, Protocol, cast

import zstandard

CodecName = Literal["gzip", "zstd", "none"]


class Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class _Identity:
    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Zstd:
    def __init__(self, level: int) -> None:
        self._stream = zstandard.ZstdCompressor(level=level).compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._stream.compress(data)

    def flush(self) -> bytes:
        return self._stream.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


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
            return _Zstd(chosen)
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
