"""Objects under construction: the chain facts of a range, its body made by the format.

Rotation is decided record by record (`Rotation.starts_new_object`): by record count, by
uncompressed bytes, and when a record belongs to a later hour than the object's folder. Late
records (an earlier hour) stay in the open object, so skewed producers alternating between two
hours do not split a partition into one object per record; the object's metadata carries its
min and max timestamps. An object whose Parquet `value` column is typed by one schema
(a Schema Registry value format) also ends before a value of another schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handler.format.bodies import Body
from handler.format.envelope import Encoded
from handler.format.layout import MAX_TIMESTAMP_MS, hour_bucket
from handler.format.native import Run
from handler.format.sealed import SealedBody
from handler.record import Record

_UNKNOWN_HOUR = -1  # sorts before every real hour, so a dated record leaves the unknown folder
_HOUR_MS = 3_600_000


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
        encoded: Encoded | None = None,
    ) -> bool:
        """Whether the record starts a new object; the dead letters of the open object's range
        (`companion`) count toward its size. An object's first record always lands; a record
        the object's body refuses (`encoded`: a value of another schema) starts a new one."""
        if builder.records == 0 and (companion is None or companion.records == 0):
            return False
        if encoded is not None and builder.selective and not builder.accepts(encoded):
            return True
        room = self.room(builder, companion)
        return room.records <= 0 or line_size > room.bytes or room.later(event_time)

    def room(self, builder: ObjectBuilder, companion: ObjectBuilder | None = None) -> Room:
        """What still fits in the open object (the hot path counts it down record by record)."""
        records = builder.records + (companion.records if companion else 0)
        raw_bytes = builder.raw_bytes + (companion.raw_bytes if companion else 0)
        return Room(
            self.max_records - records,
            self.max_bytes - raw_bytes,
            (builder.hour + 1) * _HOUR_MS,
            builder.hour_start_ms,
            builder.accepts if builder.selective else None,
        )


@dataclass
class Room:
    records: int
    bytes: int
    later_hour_ms: int
    """Records from this time on belong to a later hour than the object's folder (for the
    unknown folder: every dated record)."""
    hour_start_ms: int | None
    """Where the folder's hour begins: records before it are late (None for the unknown
    folder, where none is)."""
    accepts: Callable[[Encoded], bool] | None = None
    """Whether a record may join the object (None: any may, the object's body never refuses
    one); one it refuses starts a new object."""

    def later(self, event_time: int) -> bool:
        return self.later_hour_ms <= event_time < MAX_TIMESTAMP_MS


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
    content: SealedBody
    content_type: str

    def manifest_entry(self, dead_letters: SealedObject | None = None) -> dict[str, object]:
        """What the run's manifest records of this object (and of its dead letters)."""
        entry: dict[str, object] = {
            "key": self.key,
            "start": self.start,
            "next": self.next,
            "records": self.records,
            "bytes": self.content.size,
            "sha256": self.content.sha256,
        }
        if dead_letters is not None:
            entry["dead_letters"] = dead_letters.records
            entry["dead_letters_key"] = dead_letters.key
            entry["dead_letters_sha256"] = dead_letters.content.sha256
        return entry

    def close(self) -> None:
        self.content.close()


class ObjectBuilder:
    """One partition's open object: the chain facts of its range, and its body."""

    def __init__(
        self,
        topic: str,
        partition: int,
        start: int,
        key: str,
        first_timestamp: int,
        body: Body,
        content_type: str,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.start = start
        self.key = key
        self.hour = _hour(first_timestamp)
        self.records = 0
        self.late_records = 0
        self.raw_bytes = 0
        """Bytes of the records' JSON lines, whatever the stored format: what rotation weighs."""
        self.first_offset = -1
        self.last_offset = -1
        self.range_end = start
        """Offset after the last record of the object's range, dead letters included."""
        self.min_timestamp = first_timestamp
        self.max_timestamp = first_timestamp
        # A record is late when it belongs to an earlier hour than the folder: before the
        # folder's hour, or with no calendar time at all (none is late in the unknown folder).
        self._hour_start_ms = self.hour * _HOUR_MS if self.hour != _UNKNOWN_HOUR else None
        self._body = body
        self._content_type = content_type

    def add(self, record: Record, encoded: Encoded) -> None:
        """Append one encoded record; its `event_time` places it."""
        moment = encoded.event_time
        if record.offset < self.range_end:
            raise ValueError(
                f"record {record.topic}/{record.partition}@{record.offset} is out of order for "
                f"the object starting at {self.start} (last offset {self.last_offset})"
            )
        self._body.add(record, encoded)
        if self.records == 0:
            self.first_offset = record.offset
        self.records += 1
        self.raw_bytes += len(encoded.line)
        self.last_offset = record.offset
        self.range_end = record.offset + 1
        if moment < self.min_timestamp:
            self.min_timestamp = moment
        elif moment > self.max_timestamp:
            self.max_timestamp = moment
        start = self._hour_start_ms
        if start is not None and not start <= moment < MAX_TIMESTAMP_MS:
            self.late_records += 1

    def add_run(self, native: Any, run: Run) -> None:
        """Append a run of records the native encoder took from its batch `native` (their
        lines, or their columns), counted as `add` counts each."""
        if run.first_offset < self.range_end:
            raise ValueError(
                f"records {self.topic}/{self.partition}@{run.first_offset} on are out of order "
                f"for the object starting at {self.start} (last offset {self.last_offset})"
            )
        self._body.add_run(native, run, self.topic)
        if self.records == 0:
            self.first_offset = run.first_offset
        self.records += run.records
        self.raw_bytes += run.bytes_encoded
        self.last_offset = run.last_offset
        self.range_end = run.last_offset + 1
        self.min_timestamp = min(self.min_timestamp, run.min_event_time)
        self.max_timestamp = max(self.max_timestamp, run.max_event_time)
        self.late_records += run.late

    @property
    def selective(self) -> bool:
        """Whether the body may refuse a record (`accepts`)."""
        return self._body.selective

    def accepts(self, encoded: Encoded) -> bool:
        """Whether the record may join this object (a typed registry value column holds one
        schema's values): one refused starts a new object."""
        return self._body.accepts(encoded)

    @property
    def hour_start_ms(self) -> int | None:
        """Where the folder's hour begins; None for the unknown folder (nothing is late
        there)."""
        return self._hour_start_ms

    def cover(self, offset: int) -> None:
        """Take `offset` into the object's range without a line: its record is a dead letter,
        stored in the companion object of this range."""
        if offset < self.range_end:
            raise ValueError(f"offset {offset} is out of order for the object at {self.start}")
        self.range_end = offset + 1

    def seal(self) -> SealedObject:
        """The finished body; an object whose range holds only dead letters has no records."""
        if self.range_end == self.start:
            raise ValueError("an object with an empty range is never sealed")
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
            content=self._body.seal(),
            content_type=self._content_type,
        )

    def discard(self) -> None:
        self._body.discard()
