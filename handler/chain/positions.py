"""Position records: who owns a chain position, found without computing anything from content.

Before the data object that starts at position P is uploaded, its writer creates (create-only)
a small record at a key made of topic, partition and P alone (`format/layout.position_key`),
naming the data object's key, its `next`, its record count, its writer and the settings that
shaped it. Whoever creates it owns P. Any later run at P reads it first: the object it names
exists, so adopt it; it does not (its writer died between the two writes, or is still
uploading), so re-read exactly [P, next) with the recorded settings and create the object at
the recorded key — create-only, so the original writer and the repairer cannot both store it.

Because the key is a function of the position alone, no setting (time field, codec, formats,
isolation level), compaction or retention can make a later run miss what stands at P.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import orjson

from handler.errors import ChainError
from handler.format.layout import position_key
from handler.stores.base import NewObject, PutOutcome, Store

_FORMAT = 1


@dataclass(frozen=True)
class Shape:
    """The settings that decide which records an object holds and how their lines read: a
    repair re-reads the range with these, not with its own, so it rebuilds the same object."""

    key_format: str
    value_format: str
    time_field: str | None
    on_invalid: str


@dataclass(frozen=True)
class PositionRecord:
    topic: str
    partition: int
    start: int
    key: str
    """The data object that starts at `start`."""
    next: int
    records: int
    writer: str
    shape: Shape
    gap_from: int | None = None
    """Set when accepted data loss ends at `start` (stored with the object as kb-gap-from)."""
    dead_letters: int = 0
    """Invalid records of the range, stored in the companion object before the data object."""

    def body(self) -> bytes:
        return orjson.dumps({"format": _FORMAT, **asdict(self)})

    def same_claim(self, other: PositionRecord) -> bool:
        """True when `other` is this record as a retry of the same writer would write it."""
        return (self.writer, self.key, self.next) == (other.writer, other.key, other.next)


def claim(store: Store, record: PositionRecord) -> PutOutcome:
    """Create the position record; EXISTS when another (or an earlier) write made it first."""
    body = record.body()
    key = position_key(store.prefix, record.topic, record.partition, record.start)
    return store.put_if_absent(NewObject.of_bytes(key, body, "application/json"))


def read_position(
    store: Store, topic: str, partition: int, start: int, prefix: str | None = None
) -> PositionRecord | None:
    """The record of who owns `start`, or None while the position is free; `prefix` for a
    store opened above the destination (the audit reads a bucket whole)."""
    key = position_key(store.prefix if prefix is None else prefix, topic, partition, start)
    data = store.read(key)
    if data is None:
        return None
    try:
        document = orjson.loads(data)
        record = PositionRecord(
            topic=str(document["topic"]),
            partition=int(document["partition"]),
            start=int(document["start"]),
            key=str(document["key"]),
            next=int(document["next"]),
            records=int(document["records"]),
            writer=str(document["writer"]),
            shape=Shape(**document["shape"]),
            gap_from=None if document.get("gap_from") is None else int(document["gap_from"]),
            dead_letters=int(document.get("dead_letters", 0)),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ChainError(
            f"position record '{key}' cannot be read ({exc}); the run stops rather than guess "
            "what stands at that chain position. Restore it from a backup or version, or move "
            "it aside if it is not Kafka Beat's"
        ) from exc
    if (record.topic, record.partition, record.start) != (topic, partition, start):
        raise ChainError(
            f"position record '{key}' names {record.topic}:{record.partition} at "
            f"{record.start}; the run stops. Move it aside if it was copied from elsewhere"
        )
    return record
