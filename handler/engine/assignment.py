"""What a run knows about one partition while it carries it."""

from __future__ import annotations

from dataclasses import dataclass

from handler.chain.builder import ObjectBuilder
from handler.config.values import PartitionRef
from handler.observe.report import PartitionReport


@dataclass
class PartitionState:
    ref: PartitionRef
    report: PartitionReport
    end: int
    """The end offset seen when the run took the partition: it reads no further."""
    position: int
    """Chain position: where the next object starts."""
    consumed_to: int
    """Offset after the last record taken into an object, dead-lettered or adopted."""
    committed: int | None
    """The group's committed offset, as this run last saw or set it."""
    builder: ObjectBuilder | None = None
    active: bool = True
    gap_from: int | None = None
    """Chain position where accepted data loss (on_data_loss=skip) began; recorded with the
    next object stored, so a gap in the chain is known, never mistaken for a lost object."""


def loss_message(ref: PartitionRef, committed: int, log_start: int) -> str:
    return (
        f"{ref.topic}:{ref.partition}: {log_start - committed} offsets "
        f"({committed}..{log_start - 1}) were deleted by retention before they were read; "
        "nothing was skipped. Set KAFKA_BEAT_ON_DATA_LOSS=skip to accept the loss and "
        "continue from the earliest record left"
    )


@dataclass(frozen=True)
class StartDecision:
    start: int
    """Chain position the run starts the partition at."""
    resumed_from: int | None
    """The offset the start was decided from: the group's commit, or the storage checkpoint
    when that is further (None: neither exists)."""
    lost: int
    """Offsets retention deleted between `resumed_from` and the log start."""


def decide_start(
    committed: int | None, checkpoint: int | None, log_start: int, end: int, reset: str
) -> StartDecision:
    """Where a partition starts: the later of the group's commit and the storage checkpoint;
    with neither, where `reset` says; never silently past data retention deleted."""
    resumed = committed
    if checkpoint is not None and (committed is None or checkpoint > committed):
        resumed = checkpoint
    if resumed is None:
        return StartDecision(log_start if reset == "earliest" else end, None, 0)
    if resumed < log_start:
        return StartDecision(log_start, resumed, log_start - resumed)
    return StartDecision(resumed, resumed, 0)
