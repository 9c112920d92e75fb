"""Kafka Beat's native batch encoder: each line byte-identical to `Encoder.encode(record).line`
(handler/format/envelope.py); a record it cannot encode exactly is deferred to that encoder."""

from typing import Any, Literal, final

@final
class Taken:
    """What `Batch.take` took: append `lines[line_start:line_end]`, add the counts."""

    @property
    def next_index(self) -> int: ...
    @property
    def records(self) -> int: ...
    @property
    def first_offset(self) -> int | None: ...
    @property
    def last_offset(self) -> int | None: ...
    @property
    def line_start(self) -> int: ...
    @property
    def line_end(self) -> int: ...
    @property
    def bytes_in(self) -> int: ...
    @property
    def bytes_encoded(self) -> int: ...
    @property
    def min_event_time(self) -> int | None: ...
    @property
    def max_event_time(self) -> int | None: ...
    @property
    def late(self) -> int: ...
    @property
    def tombstones(self) -> int: ...
    @property
    def unknown_time(self) -> int: ...
    @property
    def time_field_missing(self) -> int: ...

@final
class Batch:
    """One `encode_batch` call's records: the lines of those encoded natively, end to end."""

    @property
    def count(self) -> int: ...
    @property
    def lines(self) -> bytes: ...
    @property
    def deferred(self) -> list[int]:
        """Indexes of the records to encode with the Python `Encoder`."""
    def line(self, index: int) -> bytes:
        """The record's line; ValueError for a deferred record."""
    def event_time(self, index: int) -> int: ...
    def time_from_field(self, index: int) -> bool | None: ...
    def take(
        self,
        start: int,
        stop: int,
        room_records: int,
        room_bytes: int,
        later_hour_ms: int,
        end: int,
        consumed_to: int,
        hour_start_ms: int | None,
    ) -> Taken:
        """Records `start..stop` taken as `Intake._take_run` takes them, up to the first that
        needs Python (offset at or past `end` or before the consumed position, deferred, no
        room, a later hour)."""

def encode_batch(
    records: list[Any],
    kind: Literal["record", "kafka-python", "confluent"],
    key_format: Literal["auto", "json", "text", "bytes"],
    value_format: Literal["auto", "json", "text", "bytes"],
    time_field: str | None = None,
) -> Batch:
    """Encode a poll batch of `kind` records (TypeError naming the index for one that is not)."""
