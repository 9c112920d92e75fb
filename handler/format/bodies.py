"""Object bodies under construction, one kind per stored format: records in, one body out.

`ObjectFormat` is what a run writes (`KAFKA_BEAT_FORMAT` with its compression): it names the
objects (`extension`) and makes the body of each. A body knows nothing of chains: the chain
builder (`chain/builder.py`) keeps ranges, counts and times, and asks the body for the bytes.

- JSON lines: each record's line is copied into a pending buffer, compressed a chunk at a time
  (on the compression worker when there is one) into a spool file, hashed as written.
- Parquet: each record becomes a row, row groups are written to a spool file as they fill
  (`format/parquet.py`).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import deque
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from typing import IO, Any, Protocol

from handler.config.parquet_fields import ParquetField
from handler.config.values import FieldFormat
from handler.format.compression import CODECS, Codec
from handler.format.envelope import Encoded
from handler.format.native import Run
from handler.format.native_columns import native_fields, record_batch, unfit_counts
from handler.format.parquet import ParquetObjectWriter
from handler.format.parquet_schema import CONTENT_TYPE as PARQUET_CONTENT_TYPE
from handler.format.parquet_schema import EXTENSION as PARQUET_EXTENSION
from handler.format.parquet_schema import registered_value
from handler.format.registered import SchemaDecoder
from handler.format.sealed import SealedBody
from handler.record import Record

_CHUNK_BYTES = 256 * 1024
# Rows buffered before a row group is written, per object: the spool memory an object may
# keep (shared out over the open objects, so 64 partitions stay in budget), but not below the
# size under which row groups get too small to compress or skip well.
_MIN_ROW_GROUP_BYTES = 256 * 1024


class Body(Protocol):
    selective: bool
    """Whether `accepts` may refuse a record (a typed registry value column); else it never
    does, and the hot path does not ask."""

    def add(self, record: Record, encoded: Encoded) -> None: ...

    def accepts(self, encoded: Encoded) -> bool:
        """Whether the record may join this object (else rotation starts a new one for it)."""
        ...

    def add_run(self, native: Any, run: Run, topic: str) -> None:
        """Append a run of records the native encoder took from its batch `native` (of one
        partition of `topic`), already counted by the chain builder."""
        ...

    def seal(self) -> SealedBody: ...

    def discard(self) -> None: ...


class ObjectFormat(Protocol):
    @property
    def extension(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    def body(
        self,
        spool_memory_bytes: int,
        key_format: FieldFormat,
        value_format: FieldFormat,
        schemas: SchemaDecoder | None = None,
    ) -> Body:
        """A new, empty body; the formats are the ones the records were encoded under (with
        the decoder of their registry formats)."""
        ...


@dataclass(frozen=True)
class JsonLines:
    codec: Codec
    level: int | None = None
    worker: Executor | None = None
    """Compresses chunks off the consuming thread; None: inline."""

    @property
    def extension(self) -> str:
        return self.codec.extension

    @property
    def content_type(self) -> str:
        return self.codec.content_type

    def body(
        self,
        spool_memory_bytes: int,
        key_format: FieldFormat,
        value_format: FieldFormat,
        schemas: SchemaDecoder | None = None,
    ) -> Body:
        return JsonLinesBody(self.codec, self.level, spool_memory_bytes, self.worker)


@dataclass(frozen=True)
class Parquet:
    compression: str = "zstd"
    level: int | None = None
    fields: tuple[ParquetField, ...] = ()
    worker: Executor | None = None
    """Encodes and writes row groups off the consuming thread; None: inline."""

    @property
    def extension(self) -> str:
        return PARQUET_EXTENSION

    @property
    def content_type(self) -> str:
        return PARQUET_CONTENT_TYPE

    def body(
        self,
        spool_memory_bytes: int,
        key_format: FieldFormat,
        value_format: FieldFormat,
        schemas: SchemaDecoder | None = None,
    ) -> Body:
        return ParquetBody(self, spool_memory_bytes, key_format, value_format, schemas)


def format_of_extension(extension: str) -> ObjectFormat:
    """The format, with its defaults, that objects named with `extension` were written in."""
    if extension == PARQUET_EXTENSION:
        return Parquet()
    for codec in CODECS.values():
        if codec.extension == extension:
            return JsonLines(codec)
    raise ValueError(f"'{extension}' is not the extension of a Kafka Beat object")


class JsonLinesBody:
    """JSON lines through a streaming codec into a spool file."""

    selective = False

    def __init__(
        self, codec: Codec, level: int | None, spool_memory_bytes: int, worker: Executor | None
    ) -> None:
        self._compressor = codec.compressor(level)
        # Chunks handed to the compression worker, oldest first; None: compress inline.
        self._worker = worker
        self._queued: deque[Future[None]] = deque()
        # Lines are compressed in chunks, one call per chunk instead of per record, and copied
        # into one buffer meanwhile, not kept as a list: each line orjson returns holds a
        # 4 KiB allocation whatever its length, so 256 KiB of kept lines would cost ~2.4 MiB
        # per partition.
        self._pending = bytearray()
        self._digest = hashlib.sha256()
        self._size = 0
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - owned by the sealed body
            max_size=spool_memory_bytes, prefix="kafka-beat-"
        )

    def add(self, record: Record, encoded: Encoded) -> None:
        self.add_lines(memoryview(encoded.line))

    def accepts(self, encoded: Encoded) -> bool:
        return True

    def add_run(self, native: Any, run: Run, topic: str) -> None:
        self.add_lines(memoryview(native.lines)[run.line_start : run.line_end])

    def add_lines(self, lines: memoryview) -> None:
        # Chunks of exactly _CHUNK_BYTES, however the lines came (one by one or a run at a
        # time), so an object's bytes do not depend on which encoder made its lines. The
        # pending chunk is filled, then whole chunks of a long run go to the compressor as
        # views of the lines, not copies (a 9 MB record is copied once, not 36 times).
        pending = self._pending
        if len(pending) + len(lines) < _CHUNK_BYTES:
            pending += lines
            return
        at = _CHUNK_BYTES - len(pending)
        pending += lines[:at]
        self._pending = bytearray()
        self._hand_over(pending)
        while len(lines) - at >= _CHUNK_BYTES:
            self._hand_over(lines[at : at + _CHUNK_BYTES])
            at += _CHUNK_BYTES
        self._pending += lines[at:]

    def _compress_pending(self) -> None:
        if self._pending:
            chunk, self._pending = self._pending, bytearray()
            self._hand_over(chunk)

    def _hand_over(self, chunk: bytearray | memoryview) -> None:
        if self._worker is None:
            self._compress(chunk)
            return
        self._queued.append(self._worker.submit(self._compress, chunk))
        while self._queued and self._queued[0].done():
            self._queued.popleft().result()  # raises what the worker raised

    def _compress(self, chunk: bytes | bytearray | memoryview) -> None:
        self._write(self._compressor.compress(chunk))

    def _finish(self) -> None:
        self._write(self._compressor.flush())

    def _write(self, chunk: bytes) -> None:
        if chunk:
            self._digest.update(chunk)
            self._size += len(chunk)
            self._spool.write(chunk)

    def seal(self) -> SealedBody:
        self._compress_pending()
        # The flush too runs on the worker, after every chunk handed to it: a compressor's
        # calls must come in order.
        if self._worker is None:
            self._finish()
        else:
            self._queued.append(self._worker.submit(self._finish))
        while self._queued:  # the body is whole once every chunk handed over is written
            self._queued.popleft().result()
        self._spool.seek(0)
        return SealedBody(self._spool, self._size, self._digest.hexdigest())

    def discard(self) -> None:
        for queued in self._queued:
            queued.cancel()
        wait(self._queued)  # a chunk the worker is writing must finish before the close
        self._queued.clear()
        self._spool.close()


class ParquetBody:
    """Rows into a Parquet file (`format/parquet.py`); pyarrow is imported on first use."""

    def __init__(
        self,
        settings: Parquet,
        spool_memory_bytes: int,
        key_format: FieldFormat,
        value_format: FieldFormat,
        schemas: SchemaDecoder | None = None,
    ) -> None:
        self.selective = registered_value(value_format)
        self._writer = ParquetObjectWriter(
            settings.compression,  # type: ignore[arg-type]
            settings.fields,
            row_group_bytes=max(_MIN_ROW_GROUP_BYTES, spool_memory_bytes),
            spool_memory_bytes=spool_memory_bytes,
            level=settings.level,
            key_format=key_format,
            value_format=value_format,
            worker=settings.worker,
            schemas=schemas,
        )
        self._columns = settings.fields
        self._fields = native_fields(settings.fields)

    def add(self, record: Record, encoded: Encoded) -> None:
        self._writer.add(record, encoded)

    def accepts(self, encoded: Encoded) -> bool:
        return self._writer.accepts(encoded)

    def add_run(self, native: Any, run: Run, topic: str) -> None:
        start = run.next_index - run.records
        columns = native.columns(start, run.next_index, self._fields)
        self._writer.add_columns(
            record_batch(columns, topic, self._writer.schema), unfit_counts(columns, self._columns)
        )

    def seal(self) -> SealedBody:
        return self._writer.seal()

    def discard(self) -> None:
        self._writer.discard()
