"""An in-memory partitioned log and an in-memory atomic store, for the model-based test of the
run's ordering rules. They play Kafka and S3 only where the real ones cannot run fast enough
for thousands of random interleavings; every behaviour they model is also tested for real."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from handler.config.values import PartitionRef
from handler.kafka.source import PollResult
from handler.record import Record
from handler.stores.base import NewObject, ObjectHead, PutOutcome


def event_value(offset: int) -> bytes:
    """A JSON value whose `ts` field names another hour than the record's Kafka timestamp, so
    that a time-field setting moves objects to other folders; every fourth is not JSON."""
    if offset % 4 == 3:  # invalid under value_format=json: a dead letter
        return b"not json %d" % offset
    return b'{"ts": "2020-01-01T%02d:00:00Z", "v": %d}' % (offset % 3, offset)


class Crash(BaseException):
    """The process dies here: nothing catches it, nothing is flushed."""


@dataclass
class MemoryLog:
    """Partitions of records with offset gaps (markers, compaction) and a movable log start."""

    partitions: int
    records: dict[int, list[Record]] = field(default_factory=dict)
    next_offset: dict[int, int] = field(default_factory=dict)
    log_start: dict[int, int] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for p in range(self.partitions):
            self.records.setdefault(p, [])
            self.next_offset.setdefault(p, 0)
            self.log_start.setdefault(p, 0)

    def produce(self, partition: int, count: int, gap: int, timestamp: int) -> None:
        offset = self.next_offset[partition] + gap
        for n in range(count):
            self.records[partition].append(
                Record("t", partition, offset, timestamp + n, "create", b"k", event_value(offset))
            )
            offset += 1
        self.next_offset[partition] = offset + (1 if gap else 0)  # a trailing marker

    def compact(self, partition: int, keep: Callable[[int], bool]) -> set[int]:
        """Remove the records `keep` rejects, as the log cleaner does; their offsets."""
        removed = {r.offset for r in self.records[partition] if not keep(r.offset)}
        self.records[partition] = [r for r in self.records[partition] if keep(r.offset)]
        return removed

    def expire(self) -> None:
        """The group's committed offsets gone (`offsets.retention.minutes` passed)."""
        self.committed.clear()

    def delete_before(self, partition: int, offset: int) -> None:
        """Retention: the log starts at `offset`."""
        self.log_start[partition] = offset

    def live(self, partition: int) -> list[Record]:
        return [r for r in self.records[partition] if r.offset >= self.log_start[partition]]


class MemorySource:
    """The subset of the Source interface a run uses, in explicit-partition mode."""

    client = "memory"

    def __init__(
        self,
        log: MemoryLog,
        refs: list[PartitionRef],
        batch: int,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.log = log
        self.refs = refs
        self.batch = batch
        self.positions: dict[PartitionRef, int] = {}
        self.paused: set[PartitionRef] = set()
        self.on_commit = on_commit

    def start(self) -> None:
        pass

    def assignment(self) -> set[PartitionRef]:
        return set(self.refs)

    def committed(self, ref: PartitionRef) -> int | None:
        return self.log.committed.get(ref.partition)

    def log_bounds(self, refs: list[PartitionRef]) -> dict[PartitionRef, tuple[int, int]]:
        return {
            r: (self.log.log_start[r.partition], self.log.next_offset[r.partition]) for r in refs
        }

    def seek(self, ref: PartitionRef, offset: int) -> None:
        self.positions[ref] = offset

    def position(self, ref: PartitionRef) -> int:
        return self.positions[ref]

    def pause(self, ref: PartitionRef) -> None:
        self.paused.add(ref)

    def poll(self, timeout_seconds: float, max_records: int | None) -> PollResult:
        result = PollResult()
        budget = self.batch if max_records is None else min(self.batch, max_records)
        for ref in self.refs:
            if ref in self.paused or ref not in self.positions:
                continue
            position = self.positions[ref]
            if position < self.log.log_start[ref.partition]:
                result.out_of_range[ref] = position
                return PollResult(out_of_range=result.out_of_range)
            taken = [r for r in self.log.records[ref.partition] if r.offset >= position][:budget]
            if taken:
                result.records[ref] = taken
                self.positions[ref] = taken[-1].offset + 1
                budget -= len(taken)
            else:  # only markers left: the position moves to the end
                self.positions[ref] = max(position, self.log.next_offset[ref.partition])
            if budget <= 0:
                break
        return result

    def commit(self, offsets: dict[PartitionRef, int], run_id: str) -> None:
        self.on_commit()
        for ref, offset in offsets.items():
            self.log.committed[ref.partition] = offset

    def close(self) -> None:
        pass


@dataclass
class _Stored:
    body: bytes
    metadata: dict[str, str]


class MemoryStore:
    """Create-only writes that are atomic, like S3's; `before_put` can crash or interleave."""

    prefix = "m"

    def __init__(self) -> None:
        self.objects: dict[str, _Stored] = {}
        self.before_put: Callable[[str], None] = lambda key: None
        self.after_put: Callable[[str], None] = lambda key: None

    def describe(self) -> str:
        return "memory"

    def check(self) -> None:
        pass

    def put_if_absent(self, new: NewObject) -> PutOutcome:
        self.before_put(new.key)
        stored = _Stored(new.body.read(), dict(new.metadata))
        # One atomic step, as S3's conditional write: uploads of several threads race here.
        if self.objects.setdefault(new.key, stored) is not stored:
            return PutOutcome.EXISTS
        self.after_put(new.key)
        return PutOutcome.CREATED

    def head(self, key: str) -> ObjectHead | None:
        stored = self.objects.get(key)
        return None if stored is None else ObjectHead(key, len(stored.body), stored.metadata)

    def replace(self, key: str, data: bytes) -> None:
        self.objects[key] = _Stored(data, {})

    def read(self, key: str) -> bytes | None:
        stored = self.objects.get(key)
        return None if stored is None else stored.body

    def open(self, key: str) -> IO[bytes]:
        return io.BytesIO(self.objects[key].body)

    def list_keys(self, prefix: str) -> Iterator[str]:
        # A snapshot: upload threads may add keys meanwhile.
        yield from sorted(key for key in list(self.objects) if key.startswith(prefix))
