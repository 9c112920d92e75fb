"""Objects under construction: encoded lines streamed into a compressor and a spool file.

Rotation is decided record by record (`Rotation.starts_new_object`): by record count, by
uncompressed bytes, and when a record belongs to a later hour than the object's folder. Late
records (an earlier hour) stay in the open object, so skewed producers alternating between two
hours do not split a partition into one object per record; the object's metadata carries its
min and max timestamps.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import deque
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from typing import IO

from handler.format.compression import Codec
from handler.format.layout import hour_bucket
from handler.record import Record

_CHUNK_BYTES = 256 * 1024
_UNKNOWN_HOUR = -1  # sorts before every real hour, so a dated record leaves the unknown folder


@dataclass(frozen=True)
class Rotation:
    max_records: int
    max_bytes: int

    def starts_new_object(
        self,
        builder: ObjectBuilder,
        event_time: int,
        line_size: int,
        companion: ObjectBuilder | None = None,
    ) -> bool:
        """Whether the record starts a new object; the dead letters of the open object's range
        (`companion`) count toward its size."""
        records = builder.records + (companion.records if companion else 0)
        raw_bytes = builder.raw_bytes + (companion.raw_bytes if companion else 0)
        if records == 0:
            return False
        if records >= self.max_records:
            return True
        if raw_bytes + line_size > self.max_bytes:
            return True
        return _hour(event_time) > builder.hour


def _hour(timestamp_ms: int) -> int:
    bucket = hour_bucket(timestamp_ms)
    return _UNKNOWN_HOUR if bucket is None else bucket


@dataclass
class SealedObject:
    """A finished object body with the facts its metadata records."""

    topic: str
    partition: int
    start: int
    """Chain position the object starts at (where the previous object's `next` pointed)."""
    next: int
    """Last record's offset + 1: where the following object starts."""
    key: str
    records: int
    first_offset: int
    last_offset: int
    min_timestamp: int
    max_timestamp: int
    raw_bytes: int
    late_records: int
    size: int
    sha256: str
    body: IO[bytes]
    codec: Codec

    def manifest_entry(self, dead_letters: SealedObject | None = None) -> dict[str, object]:
        """What the run's manifest records of this object (and of its dead letters)."""
        entry: dict[str, object] = {
            "key": self.key,
            "start": self.start,
            "next": self.next,
            "records": self.records,
            "bytes": self.size,
            "sha256": self.sha256,
        }
        if dead_letters is not None:
            entry["dead_letters"] = dead_letters.records
            entry["dead_letters_key"] = dead_letters.key
            entry["dead_letters_sha256"] = dead_letters.sha256
        return entry

    def close(self) -> None:
        self.body.close()


class ObjectBuilder:
    """One partition's open object: lines in, one compressed body out."""

    def __init__(
        self,
        topic: str,
        partition: int,
        start: int,
        key: str,
        first_timestamp: int,
        codec: Codec,
        level: int | None,
        spool_memory_bytes: int,
        worker: Executor | None = None,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.start = start
        self.key = key
        self.hour = _hour(first_timestamp)
        self.records = 0
        self.late_records = 0
        self.raw_bytes = 0
        self.first_offset = -1
        self.last_offset = -1
        self.range_end = start
        """Offset after the last record of the object's range, dead letters included."""
        self.min_timestamp = first_timestamp
        self.max_timestamp = first_timestamp
        self._codec = codec
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
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - owned by the sealed object
            max_size=spool_memory_bytes, prefix="kafka-beat-"
        )

    def add(self, record: Record, line: bytes, event_time: int | None = None) -> None:
        """Append one encoded record; `event_time` (default: the record timestamp) places it."""
        moment = record.timestamp if event_time is None else event_time
        if record.offset < self.range_end:
            raise ValueError(
                f"record {record.topic}/{record.partition}@{record.offset} is out of order for "
                f"the object starting at {self.start} (last offset {self.last_offset})"
            )
        if self.records == 0:
            self.first_offset = record.offset
        self.records += 1
        self.raw_bytes += len(line)
        self.last_offset = record.offset
        self.range_end = record.offset + 1
        self.min_timestamp = min(self.min_timestamp, moment)
        self.max_timestamp = max(self.max_timestamp, moment)
        if _hour(moment) < self.hour:
            self.late_records += 1
        self._pending += line
        if len(self._pending) >= _CHUNK_BYTES:
            self._compress_pending()

    def cover(self, offset: int) -> None:
        """Take `offset` into the object's range without a line: its record is a dead letter,
        stored in the companion object of this range."""
        if offset < self.range_end:
            raise ValueError(f"offset {offset} is out of order for the object at {self.start}")
        self.range_end = offset + 1

    def _compress_pending(self) -> None:
        if self._pending:
            chunk, self._pending = self._pending, bytearray()
            if self._worker is None:
                self._compress(chunk)
                return
            self._queued.append(self._worker.submit(self._compress, chunk))
            while self._queued and self._queued[0].done():
                self._queued.popleft().result()  # raises what the worker raised

    def _compress(self, chunk: bytes | bytearray) -> None:
        self._write(self._compressor.compress(chunk))

    def _finish(self) -> None:
        self._write(self._compressor.flush())

    def _drain(self) -> None:
        """Wait for every chunk handed to the worker; the body is whole after this."""
        while self._queued:
            self._queued.popleft().result()

    def _write(self, chunk: bytes) -> None:
        if chunk:
            self._digest.update(chunk)
            self._size += len(chunk)
            self._spool.write(chunk)

    def seal(self) -> SealedObject:
        """The finished body; an object whose range holds only dead letters has no lines."""
        if self.range_end == self.start:
            raise ValueError("an object with an empty range is never sealed")
        self._compress_pending()
        # The flush too runs on the worker: a zstd context is shared by every object of a run
        # and must never be used from two threads at once.
        if self._worker is None:
            self._finish()
        else:
            self._queued.append(self._worker.submit(self._finish))
        self._drain()
        self._spool.seek(0)
        return SealedObject(
            topic=self.topic,
            partition=self.partition,
            start=self.start,
            next=self.range_end,
            key=self.key,
            records=self.records,
            first_offset=self.first_offset,
            last_offset=self.last_offset,
            min_timestamp=self.min_timestamp,
            max_timestamp=self.max_timestamp,
            raw_bytes=self.raw_bytes,
            late_records=self.late_records,
            size=self._size,
            sha256=self._digest.hexdigest(),
            body=self._spool,
            codec=self._codec,
        )

    def discard(self) -> None:
        for queued in self._queued:
            queued.cancel()
        wait(self._queued)  # a chunk the worker is writing must finish before the close
        self._queued.clear()
        self._spool.close()
