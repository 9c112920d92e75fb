"""Kafka Beat's native batch encoder: each line byte-identical to `Encoder.encode(record).line`
(handler/format/envelope.py); a record it cannot encode exactly is deferred to that encoder."""

from collections.abc import Sequence
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
class Columns:
    """`Batch.columns`: a run's Parquet columns as Arrow buffers (little-endian; validity
    bitmaps LSB-first, None where every value is valid), each tuple in `pa.Array.from_buffers`'
    order. `handler.format.native_columns.record_batch` makes the record batch."""

    @property
    def count(self) -> int: ...
    @property
    def partition(self) -> bytes:
        """int32 per record."""
    @property
    def offset(self) -> bytes:
        """int64 per record."""
    @property
    def timestamp(self) -> bytes:
        """int64 per record: the Kafka timestamp in ms, -1 when unset."""
    @property
    def timestamp_type(self) -> bytes:
        """uint8 per record: 0 `create`, 1 `log_append`."""
    @property
    def key(self) -> tuple[bytes | None, bytes, bytes]:
        """(validity, int32 offsets, count + 1, data): binary, null for a null key."""
    @property
    def value(self) -> tuple[bytes | None, bytes, bytes]:
        """Binary: null for a tombstone and where `value_json` holds these very bytes."""
    @property
    def value_json(self) -> tuple[bytes | None, bytes, bytes]:
        """String: the JSON text the line embeds, null unless the value is stored as JSON."""
    @property
    def header_offsets(self) -> bytes:
        """int32, count + 1: each record's headers in the flattened ones."""
    @property
    def header_count(self) -> int: ...
    @property
    def header_keys(self) -> tuple[None, bytes, bytes]:
        """String, never null, header_count of them."""
    @property
    def header_values(self) -> tuple[bytes | None, bytes, bytes]:
        """Binary, header_count of them."""
    @property
    def typed(self) -> list[tuple[bytes | None, ...]]:
        """Per typed field, in order: (validity, data) for int64, float64, timestamp (int64 ms)
        and bool (bit-packed); (validity, offsets, data) for string."""
    @property
    def unfit(self) -> list[int]:
        """Per typed field: values present (not missing, not null) that did not fit its type."""

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
    def columns(self, start: int, stop: int, fields: Sequence[tuple[str, str]]) -> Columns:
        """The Parquet columns of records `start..stop` under `encode_batch`'s `fields`: the
        values the Python rows append. ValueError for a deferred record, for a batch encoded
        without `fields` or under other ones; IndexError for a range outside the batch."""
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
    fields: Sequence[tuple[str, str]] | None = None,
) -> Batch:
    """Encode a poll batch of `kind` records (TypeError naming the index for one that is not).

    `fields`: the typed Parquet fields as `(name, type)` (type one of string, int64, float64,
    bool, timestamp), possibly none; given, the batch keeps the records' Parquet columns for
    `Batch.columns` and also defers a record whose columns Python must make (a typed value it
    cannot convert with certainty, a `timestamp_type` other than `create` or `log_append`, a
    partition beyond 32 bits)."""
