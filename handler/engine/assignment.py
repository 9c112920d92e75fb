"""Partitions joining a run: where each starts (a pure decision), and the state it starts with."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from handler.chain.checkpoints import verified_checkpoint
from handler.chain.config import ChainConfig
from handler.chain.writer import ChainWriter
from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.engine.partition import PartitionState
from handler.failpoints import Failpoints
from handler.kafka.source import PollResult, Source
from handler.observe.logs import get_logger
from handler.stores.base import Store

log = get_logger()


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


@dataclass(frozen=True)
class Joiner:
    """Builds the state of each partition that joins the run, and says where its consumer
    starts (the loop moves it)."""

    settings: Settings
    source: Source
    store: Store
    config: ChainConfig
    run_id: str
    failpoints: Failpoints

    def join(
        self, refs: Collection[PartitionRef], seek_all: bool, polled: PollResult | None = None
    ) -> list[tuple[PartitionState, int | None]]:
        """Each partition's state, with the offset its consumer must be sought to (None:
        it fetches from the group's committed offset already). `polled`: the poll that
        assigned them, which names those without a committed offset or past retention."""
        polled = polled or PollResult()
        bounds = self.source.log_bounds(sorted(refs))
        joined = []
        for ref in sorted(refs):
            log_start, end = bounds[ref]
            committed = None if ref in polled.without_offset else self.source.committed(ref)
            if ref in polled.out_of_range:
                committed = polled.out_of_range[ref]
            joined.append(self._start(ref, committed, log_start, end, seek_all))
        return joined

    def _start(
        self, ref: PartitionRef, committed: int | None, log_start: int, end: int, seek: bool
    ) -> tuple[PartitionState, int | None]:
        checkpoint = verified_checkpoint(self.store, ref.topic, ref.partition)
        resume = checkpoint.next if checkpoint else None
        decision = decide_start(committed, resume, log_start, end, self.settings.auto_offset_reset)
        if decision.resumed_from != committed:
            log.info(
                "resuming from the storage checkpoint, ahead of the group's committed offset",
                extra={
                    "topic": ref.topic,
                    "partition": ref.partition,
                    "committed": committed,
                    "checkpoint": resume,
                },
            )
        start, lost = decision.start, decision.lost
        refuse = lost > 0 and self.settings.on_data_loss == "fail"
        if refuse:  # the chain stays where the lost records were: nothing is skipped
            start = decision.resumed_from or 0
        writer = ChainWriter(
            ref,
            self.store,
            self.config,
            self.run_id,
            self.failpoints,
            start,
            gaps=checkpoint.gaps if checkpoint else (),
        )
        part = PartitionState(ref, writer, end, start, committed, start, log_start)
        part.lost_offsets = lost
        if refuse:
            part.status = "data_loss"
            part.error = loss_message(ref, start, log_start)
            return part, None
        if lost:
            writer.gap_from = decision.resumed_from
            log.warning(
                "data lost before it was read; continuing from the earliest record",
                extra={"topic": ref.topic, "partition": ref.partition, "lost": lost},
            )
        if start >= end:
            part.status = "done"
        return part, start if seek or start != committed else None
