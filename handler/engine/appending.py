"""The hot path of intake: runs of records appended to a partition's open object while nothing
but appending is to be done, without a decision per record; the first record that needs more
(none open, a repair, the end or the budget reached, an invalid or deferred record, a rotation)
is left to `intake.py`, which takes it alone.

Two forms of the same loop: the Python encoder's, record by record, and the native encoder's,
one call for the run (its lines appended at once). Both count what intake adds to the run's
report (`Appended`); the oddities of the records taken too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handler.engine.partition import PartitionState
from handler.errors import RegistryUnavailable
from handler.format.envelope import Encoded
from handler.format.layout import MAX_TIMESTAMP_MS, hour_bucket
from handler.record import Record


@dataclass(frozen=True)
class Appended:
    """What one run appended."""

    next_index: int
    """The first record not taken."""
    records: int = 0
    consumed_to: int = 0
    """Offset after the last record taken."""
    bytes_in: int = 0
    bytes_encoded: int = 0
    oddities: tuple[tuple[str, int], ...] = ()
    """Counts for the run summary (tombstones, unknown_time, time_field_missing)."""
    unavailable: RegistryUnavailable | None = None
    """What stopped the run at `next_index`: the Schema Registry its record needed."""


def append_records(
    part: PartitionState,
    records: Sequence[Record],
    index: int,
    stop: int,
    counts: dict[str, int],
) -> Appended:
    """Records `index..stop-1` encoded one by one by the Python encoder and appended, the
    counters kept in locals; oddities go straight into `counts`."""
    writer = part.writer
    room = writer.room()
    if room is None or not part.active:
        return Appended(index)
    encode = writer.encoder.encode
    room_records, room_bytes, later_hour_ms = room.records, room.bytes, room.later_hour_ms
    accepts = room.accepts
    add = writer.add
    end, consumed_to = part.end, part.consumed_to
    count = bytes_in = bytes_encoded = 0
    while index < stop:
        record = records[index]
        offset = record.offset
        if offset >= end or offset < consumed_to:
            break
        try:
            encoded = encode(record)
        except RegistryUnavailable as exc:
            return Appended(index, count, consumed_to, bytes_in, bytes_encoded, (), exc)
        line = encoded.line
        moment = encoded.event_time
        if (
            encoded.problems
            or room_records <= 0
            or len(line) > room_bytes
            or later_hour_ms <= moment < MAX_TIMESTAMP_MS
            or (accepts is not None and not accepts(encoded))
        ):
            break  # re-encoded by intake: rare, against the calls per record saved here
        room_records -= 1
        room_bytes -= len(line)
        add(record, encoded)
        value, key, headers = record.value, record.key, record.headers
        if value is None or encoded.time_from_field is False or not 0 <= moment < MAX_TIMESTAMP_MS:
            count_oddities(counts, record, encoded)
        bytes_in += (len(value) if value else 0) + (len(key) if key else 0)
        for _, header in headers:
            if header:
                bytes_in += len(header)
        bytes_encoded += len(line)
        consumed_to = offset + 1
        count += 1
        index += 1
    return Appended(index, count, consumed_to, bytes_in, bytes_encoded)


def append_native(part: PartitionState, native: Any, index: int, stop: int) -> Appended:
    """Records `index..stop-1` of a batch the native encoder encoded (`kafka_beat_native.Batch`):
    it walks them as `append_records` does and answers with the run it took, whose lines are
    appended at once."""
    writer = part.writer
    room = writer.room()
    if room is None or not part.active:
        return Appended(index)
    run = native.take(
        index,
        stop,
        room.records,
        room.bytes,
        room.later_hour_ms,
        part.end,
        part.consumed_to,
        room.hour_start_ms,
    )
    if not run.records:
        return Appended(int(run.next_index))
    writer.add_run(native, run)
    return Appended(
        int(run.next_index),
        run.records,
        run.last_offset + 1,
        run.bytes_in,
        run.bytes_encoded,
        (
            ("tombstones", run.tombstones),
            ("unknown_time", run.unknown_time),
            ("time_field_missing", run.time_field_missing),
        ),
    )


def bump(counts: dict[str, int], name: str, by: int = 1) -> None:
    if by:
        counts[name] = counts.get(name, 0) + by


def count_oddities(counts: dict[str, int], record: Record, encoded: Encoded) -> None:
    """Tally what the run summary reports about unusual records."""
    for problem in encoded.problems:
        bump(counts, f"invalid {problem.reason()}")
    if record.value is None:
        bump(counts, "tombstones")
    if hour_bucket(encoded.event_time) is None:
        bump(counts, "unknown_time")
    if encoded.time_from_field is False:
        bump(counts, "time_field_missing")
