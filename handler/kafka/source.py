"""Kafka as the source: the one interface a run, `check` and `status` see, whichever client
reads Kafka (KAFKA_BEAT_KAFKA_CLIENT).

Every implementation keeps the same rules:

1. No silent offset reset: a partition with no committed offset comes back to the run in
   `PollResult.without_offset`, one whose fetch offset retention deleted in
   `PollResult.out_of_range`; where it starts is a decision the run takes and reports.
2. No auto-commit: offsets move only through `commit`, after the objects are stored, each with
   the run id as metadata, synchronously.
3. `log_bounds` gives the end offset as the broker sees it now (the last stable offset under
   read_committed), so the run's budget is fixed at start.
4. Records come out byte for byte as the broker returned them: a `RecordBatch` of the client's
   own record objects per partition, each read as a `handler.record.Record` where Python needs
   one (the native encoder reads the client's objects itself).

This module is the protocol alone: it imports no client. kafka-python is imported only in
`kafka_python/`, confluent-kafka only in `confluent/` (`confluent/options.py` and
`confluent/diagnosis.py` import neither), and `clients.py` picks one when a run opens it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from handler.config.values import PartitionRef
from handler.errors import SourceError
from handler.record import Record


class CommitRejected(SourceError):
    """The group no longer lets this member commit (a rebalance gave the partition away)."""


@dataclass
class PollResult:
    records: dict[PartitionRef, Sequence[Record]] = field(default_factory=dict)
    without_offset: set[PartitionRef] = field(default_factory=set)
    """Partitions with no committed offset: the run decides where they start."""
    out_of_range: dict[PartitionRef, int] = field(default_factory=dict)
    """Partitions whose fetch offset no longer exists, with that offset."""


class Source(Protocol):
    """A consumer in group mode (subscribe) or explicit-partition mode (assign)."""

    client: str
    """Which client reads Kafka: a KAFKA_BEAT_KAFKA_CLIENT value."""

    def start(self) -> list[str]:
        """Assign the explicit partitions, or subscribe to the topics or pattern.

        Returns the listed topics the cluster does not have: the run collects the others and
        reports these. Raises SourceError when none of them exists."""
        ...

    def topics(self) -> set[str]:
        """The topics the cluster has now."""
        ...

    def partitions_of(self, topics: Iterable[str]) -> list[PartitionRef]: ...

    def records_at(
        self, positions: dict[PartitionRef, int], timeout_seconds: float
    ) -> dict[PartitionRef, Record]:
        """The first record at or after each position (none where a partition has none within
        the timeout). Assigns the partitions to this consumer: for read-only tools, not runs."""
        ...

    def assignment(self) -> set[PartitionRef]: ...

    def poll(self, timeout_seconds: float, max_records: int | None) -> PollResult: ...

    def committed(self, ref: PartitionRef) -> int | None: ...

    def log_bounds(self, refs: Iterable[PartitionRef]) -> dict[PartitionRef, tuple[int, int]]:
        """Per partition, the log-start offset and the end offset (the last stable offset
        under read_committed), as the broker sees them now."""
        ...

    def position(self, ref: PartitionRef) -> int:
        """The offset the consumer fetches next (past transaction markers it has seen)."""
        ...

    def seek(self, ref: PartitionRef, offset: int) -> None:
        """Move the fetch position; a partition the group took away has none to move (the
        member that owns it now starts from the chain, not from us)."""
        ...

    def pause(self, ref: PartitionRef) -> None: ...

    def commit(self, offsets: dict[PartitionRef, int], run_id: str) -> None:
        """Commit `offsets` for the group. CommitRejected when the group gave the partitions
        to another member; TransientError when the commit may succeed on retry."""
        ...

    def close(self) -> None: ...
