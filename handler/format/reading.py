"""Reading a stored object back, whatever its format: its name says which.

Every reader of storage (the chain's content checks, `verify`, `decode`, the tests'
reconciliation) goes through here, so a format is added in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from handler.format.compression import CODECS, codec_for_key
from handler.format.envelope import decode_line
from handler.format.parquet_reader import decode_lines, read_records
from handler.format.parquet_schema import EXTENSION as PARQUET_EXTENSION
from handler.format.registered import EmbeddedDecoders
from handler.record import Record

EXTENSIONS: tuple[str, ...] = (*(codec.extension for codec in CODECS.values()), PARQUET_EXTENSION)
"""Every name an object of any format and codec ends in."""


def is_parquet_key(key: str) -> bool:
    return key.endswith(PARQUET_EXTENSION)


def is_object_key(key: str) -> bool:
    return key.endswith(EXTENSIONS)


def stored_lines(
    key: str, raw: IO[bytes], embedded: EmbeddedDecoders | None = None
) -> Iterator[bytes]:
    """The JSON lines of the object at `key` whose body is `raw`: a Parquet object's are the
    lines a jsonl object of the same records holds (`embedded` decodes Schema Registry formats
    with the schemas it embeds)."""
    if is_parquet_key(key):
        yield from decode_lines(raw, embedded)
        return
    with codec_for_key(key).reader(raw) as lines:
        yield from lines


def stored_records(key: str, raw: IO[bytes]) -> Iterator[Record]:
    """The records of the object at `key` whose body is `raw`, bytes exactly as consumed."""
    if is_parquet_key(key):
        yield from read_records(raw)
        return
    with codec_for_key(key).reader(raw) as lines:
        for line in lines:
            yield decode_line(line)
