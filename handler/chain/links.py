"""The chain: per partition, objects laid end to end, each starting where the last one ended.

An object's key is fixed by (topic, partition, start position, first record's time); its
metadata says where the next object starts (`next` = last record's offset + 1, a pure function
of its content), how many records it holds and which writer made it. Storage is the truth and
the Kafka commit a hint: whoever stands at a position and finds an object there adopts it and
moves to its `next`, so crashed runs' orphans are adopted and overlapping runs converge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from handler.chain.builder import SealedObject
from handler.errors import ChainError
from handler.format.layout import (
    FORMAT_VERSION,
    META_DEAD_LETTERS,
    META_FIRST_OFFSET,
    META_FORMAT,
    META_LAST_OFFSET,
    META_MAX_TIMESTAMP,
    META_MIN_TIMESTAMP,
    META_NEXT,
    META_RECORDS,
    META_SHA256,
    META_START,
    META_WRITER,
)
from handler.format.reading import stored_records
from handler.stores.base import ObjectHead, Store

_REQUIRED = (META_START, META_NEXT, META_RECORDS)


@dataclass(frozen=True)
class ChainLink:
    key: str
    start: int
    next: int
    records: int
    writer: str | None


def object_metadata(sealed: SealedObject, writer: str, dead_letters: int = 0) -> dict[str, str]:
    extra = {META_DEAD_LETTERS: str(dead_letters)} if dead_letters else {}
    return extra | {
        META_FORMAT: FORMAT_VERSION,
        META_START: str(sealed.start),
        META_NEXT: str(sealed.next),
        META_RECORDS: str(sealed.records),
        META_WRITER: writer,
        META_FIRST_OFFSET: str(sealed.first_offset),
        META_LAST_OFFSET: str(sealed.last_offset),
        META_MIN_TIMESTAMP: str(sealed.min_timestamp),
        META_MAX_TIMESTAMP: str(sealed.max_timestamp),
        META_SHA256: sealed.content.sha256,
    }


def _stop(key: str, problem: str) -> ChainError:
    return ChainError(
        f"object '{key}' sits at a chain position but {problem}; the run stops rather than "
        "skip or overwrite it. Inspect it (python -m handler decode), then move it aside if it "
        "is not Kafka Beat's"
    )


def link_from_metadata(key: str, start: int, metadata: Mapping[str, str]) -> ChainLink:
    missing = [name for name in _REQUIRED if name not in metadata]
    if missing:
        raise _stop(key, f"its metadata lacks {', '.join(missing)}")
    try:
        stated_start = int(metadata[META_START])
        next_position = int(metadata[META_NEXT])
        records = int(metadata[META_RECORDS])
        dead_letters = int(metadata.get(META_DEAD_LETTERS, "0"))
    except ValueError as exc:
        raise _stop(key, f"its metadata is not numeric ({exc})") from exc
    if stated_start != start:
        raise _stop(key, f"its metadata says it starts at {stated_start}, not {start}")
    taken = records + dead_letters
    # No record at all only where a repair found its whole range compacted away.
    if records < 0 or taken < 0 or next_position < start + max(taken, 1):
        raise _stop(key, f"its metadata is inconsistent (next={next_position}, records={records})")
    return ChainLink(key, start, next_position, records, metadata.get(META_WRITER))


def link_from_content(store: Store, key: str, start: int, topic: str, partition: int) -> ChainLink:
    """Read the facts from the records themselves, for stores that keep no metadata."""
    records = 0
    last = start - 1
    try:
        with store.open(key) as raw:
            for record in stored_records(key, raw):
                if (record.topic, record.partition) != (topic, partition):
                    raise _stop(key, f"it holds a record of {record.topic}/{record.partition}")
                if record.offset <= last:
                    raise _stop(key, f"its offsets are out of order at {record.offset}")
                last = record.offset
                records += 1
    except ChainError:
        raise
    except Exception as exc:  # a torn or foreign file: any decoding failure means the same
        raise _stop(key, f"it cannot be read as Kafka Beat output ({exc})") from exc
    if records == 0:
        raise _stop(key, "it holds no records")
    return ChainLink(key, start, last + 1, records, None)


def ends_at(head: ObjectHead, next_position: int) -> bool:
    """False only when the object's metadata names another end (a store without metadata, the
    local directory, cannot say: its content is the record)."""
    stated = head.metadata.get(META_NEXT) if head.metadata else None
    return stated is None or stated == str(next_position)


def read_link(store: Store, key: str, start: int, topic: str, partition: int) -> ChainLink | None:
    """The object at this chain position, or None if the position is free."""
    head = store.head(key)
    if head is None:
        return None
    if head.metadata is None:
        return link_from_content(store, key, start, topic, partition)
    return link_from_metadata(key, start, head.metadata)
