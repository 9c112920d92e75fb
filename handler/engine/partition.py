"""What a run knows about one partition while it carries it; the report is built from it at the
end, never read back for a decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from handler.chain.writer import ChainWriter
from handler.config.values import PartitionRef
from handler.observe.report import PartitionReport, PartitionStatus

Lifecycle = Literal["active"] | PartitionStatus
NOT_COMMITTING: frozenset[Lifecycle] = frozenset({"revoked", "commit_failed", "commit_refused"})
FAILED: frozenset[Lifecycle] = frozenset({"failed", "data_loss", "commit_failed", "invalid"})


@dataclass
class PartitionState:
    ref: PartitionRef
    writer: ChainWriter
    """Owns the chain position; nothing else moves it."""
    end: int
    """The end offset seen when the run took the partition: it reads no further."""
    consumed_to: int
    """Offset after the last record taken into an object, dead-lettered or adopted."""
    committed: int | None
    """The group's committed offset, as this run last saw or set it."""
    start_offset: int
    log_start: int
    status: Lifecycle = "active"
    error: str | None = None
    records: int = 0
    dead_letters: int = 0
    adopted_records: int = 0
    lost_offsets: int = 0
    committed_by_run: int | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def position(self) -> int:
        return self.writer.position

    def report(self) -> PartitionReport:
        position = self.writer.position
        return PartitionReport(
            topic=self.ref.topic,
            partition=self.ref.partition,
            start_offset=self.start_offset,
            end_offset=position,
            end_offset_at_start=self.end,
            committed=self.committed_by_run,
            records=self.records,
            dead_letters=self.dead_letters,
            objects=[str(entry["key"]) for entry in self.writer.stored],
            adopted_records=self.adopted_records,
            lost_offsets=self.lost_offsets,
            lag=max(0, self.end - position),
            retention_headroom=max(0, position - self.log_start),
            log_start_offset=self.log_start,
            status="done" if self.status == "active" else self.status,
            error=self.error,
        )
