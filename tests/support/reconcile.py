"""Read storage back and compare it with what was produced, record by record."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from handler.format import reading
from handler.format.layout import is_dead_letter_key, is_state_key
from handler.record import Record
from handler.stores.base import Store

Position = tuple[str, int, int]


@dataclass(frozen=True)
class Produced:
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp_ms: int | None = None
    """The record's create time as sent (None: the producer's clock)."""


def stored_records(store: Store, prefix: str = "", dead_letters: bool = False) -> list[Record]:
    """Every record in the data objects under `prefix` (or in the dead letters)."""
    records = []
    for key in store.list_keys(prefix):
        if is_state_key(key):
            continue
        in_dead_letters = is_dead_letter_key(key)
        if in_dead_letters != dead_letters:
            continue
        with store.open(key) as raw:
            records.extend(reading.stored_records(key, raw))
    return records


def produce(
    producer: Any, topic: str, items: Iterable[tuple[int, Produced]]
) -> dict[Position, Produced]:
    """Send (partition, record) pairs; returns what the broker acknowledged, by position."""
    futures = [
        (
            producer.send(
                topic,
                key=item.key,
                value=item.value,
                headers=list(item.headers),
                partition=partition,
                timestamp_ms=item.timestamp_ms,
            ),
            item,
        )
        for partition, item in items
    ]
    producer.flush()
    produced = {}
    for future, item in futures:
        metadata = future.get(timeout=30)
        produced[(topic, metadata.partition, metadata.offset)] = item
    return produced


def _equal(expected: bytes | None, actual: bytes | None) -> bool:
    if expected == actual:
        return True
    try:  # a JSON payload is kept equal as a JSON value, not byte for byte
        return (
            expected is not None
            and actual is not None
            and json.loads(expected) == json.loads(actual)
        )
    except ValueError:
        return False


TALLY = {"reconciliations": 0, "records": 0}


def reconcile(produced: dict[Position, Produced], records: list[Record]) -> None:
    """Every produced record stored exactly once, with the same bytes; nothing else stored."""
    counts = Counter((r.topic, r.partition, r.offset) for r in records)
    duplicates = {position: n for position, n in counts.items() if n > 1}
    assert not duplicates, (
        f"{len(duplicates)} records stored more than once: {list(duplicates)[:5]}"
    )
    missing = set(produced) - set(counts)
    assert not missing, f"{len(missing)} records never stored, e.g. {sorted(missing)[:5]}"
    extra = set(counts) - set(produced)
    assert not extra, f"{len(extra)} records stored that were not produced: {sorted(extra)[:5]}"
    for record in records:
        expected = produced[(record.topic, record.partition, record.offset)]
        assert _equal(expected.key, record.key), (record.offset, expected.key, record.key)
        assert _equal(expected.value, record.value), (record.offset, expected.value, record.value)
        assert record.headers == expected.headers, (record.offset, record.headers)
    TALLY["reconciliations"] += 1
    TALLY["records"] += len(records)


def committed(admin: Any, group: str) -> dict[tuple[str, int], int]:
    answer = admin.list_group_offsets({group: None})[group]
    return {
        (tp.topic, tp.partition): meta.offset for tp, meta in answer.items() if meta.offset >= 0
    }
