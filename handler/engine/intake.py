"""Records into objects: one batch of one partition at a time, each record to its writer.

Per record, in order: skip what is already taken; resolve the chain position before anything
is encoded for it (a repair re-reads with the settings it records); encode; divert an invalid
record to its dead letter; store the open object when the record starts a new one; open (or
adopt) an object; append. The writer answers every step with an outcome, applied here to the
partition (`_settle`); each call answers the loop with what it decided (`Taken`): where the
partition's consumer fetches next and whether it stopped. Only the loop moves the consumer.

A sealed object is queued on the upload pool and the next one opens at its end; the outcomes
of finished uploads are settled after each batch, in chain order, and at most
`_MAX_UPLOADING` objects of one partition are in flight (then the consuming thread waits for
the oldest). A partition ends, or the run does, only once its uploads are settled.

Over 300 lines because taking a record and settling what the writer answered are one state
machine over one partition (which record may follow which outcome); the loop, the joining and
the committing live in their own modules.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from handler.chain.config import ChainConfig
from handler.chain.outcomes import Outcome, Step
from handler.config.values import PartitionRef
from handler.engine.appending import (
    Appended,
    append_native,
    append_records,
    bump,
    count_oddities,
)
from handler.engine.assignment import loss_message
from handler.engine.budget import Budget
from handler.engine.partition import Lifecycle, PartitionState
from handler.errors import RegistryUnavailable
from handler.format.envelope import Encoded
from handler.format.layout import MAX_TIMESTAMP_MS
from handler.observe.logs import get_logger
from handler.observe.report import RunReport
from handler.record import Record

_SPOOL_BUDGET = 32 * 1024 * 1024
_MIN_SPOOL_BYTES = 256 * 1024
# Objects of one partition sealed but not yet confirmed: enough to overlap one upload with
# building the next, each holding its spool (memory up to its share, then disk).
_MAX_UPLOADING = 2
log = get_logger()


@dataclass
class Taken:
    """What intake decided for one partition in one call: the loop moves the consumer by it."""

    records: int = 0
    """Records taken into objects or dead letters, or adopted past."""
    seek_to: int | None = None
    """Where the partition's consumer fetches next, when it must move (an adoption skipped
    ahead, a lost race went back)."""
    rewound: bool = False
    """A lost race sent the consumer back before records already taken in this call."""
    stopped: bool = False
    """The partition stopped: its consumer pauses."""


class Next(enum.Enum):
    """What may follow a step within one batch."""

    ON = "on"
    REWOUND = "rewound"
    """The consumer goes back: the batch's later records come again."""
    STOPPED = "stopped"
    """The partition stopped, or the record budget ran out."""


@dataclass(frozen=True)
class Intake:
    config: ChainConfig
    budget: Budget
    report: RunReport
    spool_memory_bytes: int
    """What an open object may keep in memory, before its share of the spool budget."""
    active_partitions: Callable[[], int]
    """How many partitions the run carries now (read from the loop, to share memory out)."""
    fetch_position: Callable[[PartitionRef], int]
    """The offset a partition's consumer fetches next (read from the loop, never moved here)."""

    def take(self, part: PartitionState, records: Sequence[Record]) -> Taken:
        taken = Taken()
        batch_encoder = self.config.batch_encoder
        # One native call for the whole batch, under the run's formats: the hot path appends
        # its lines; a record it deferred, or any that needs more than appending, is taken
        # one by one (and encoded in Python) by `_take_one`.
        native = batch_encoder.encode(records) if batch_encoder is not None else None
        index, count = 0, len(records)
        try:
            while index < count:
                if native is not None:
                    index = self._take_native_run(part, native, index, taken)
                else:
                    index = self._take_run(part, records, index, taken)
                if index < count:
                    if self._take_one(part, records[index], taken) is not Next.ON:
                        break
                    index += 1
        except RegistryUnavailable as exc:
            self._registry_failed(part, str(exc), taken)
            return taken
        self._settle_uploads(part, taken)
        return taken

    def _registry_failed(self, part: PartitionState, error: str, taken: Taken) -> None:
        """The record at `consumed_to` needs a Schema Registry that is down: what came before
        it is stored (a repair only if read whole, which it was not), then the partition
        fails there; its offsets are committed no further, so the next run takes it again."""
        if self._close(part, taken, assigned=False) is Next.ON and part.active:
            self._stop(part, "failed", error, taken)

    def _take_native_run(self, part: PartitionState, native: Any, index: int, taken: Taken) -> int:
        appended = append_native(part, native, index, self._stop_at(index, native.count))
        self._count(part, appended, taken, self.report.counts)
        return appended.next_index

    def _take_run(
        self, part: PartitionState, records: Sequence[Record], index: int, taken: Taken
    ) -> int:
        counts = self.report.counts
        stop = self._stop_at(index, len(records))
        appended = append_records(part, records, index, stop, counts)
        self._count(part, appended, taken, counts)
        if appended.unavailable is not None:
            raise appended.unavailable
        return appended.next_index

    def _stop_at(self, index: int, count: int) -> int:
        """Where the record budget ends a run that starts at `index`."""
        left = self.budget.records_left()
        return count if left is None else min(count, index + left)

    def _count(
        self, part: PartitionState, appended: Appended, taken: Taken, counts: dict[str, int]
    ) -> None:
        if not appended.records:
            return
        part.consumed_to = appended.consumed_to
        part.records += appended.records
        taken.records += appended.records
        self.budget.take(appended.records)
        report = self.report
        report.records += appended.records
        report.bytes_in += appended.bytes_in
        report.bytes_encoded += appended.bytes_encoded
        for name, count in appended.oddities:
            bump(counts, name, count)

    def settle(self, part: PartitionState, wait_until: int | None = None) -> Taken:
        """Apply the outcomes of the partition's finished uploads; with `wait_until`, first
        wait until at most that many are in flight."""
        taken = Taken()
        self._settle_uploads(part, taken, wait_until)
        return taken

    def _settle_uploads(
        self, part: PartitionState, taken: Taken, wait_until: int | None = None
    ) -> Next:
        flow = Next.ON
        for outcome in part.writer.completed(wait_until):
            settled = self._settle(part, outcome, part.consumed_to, taken)
            if flow is Next.ON:
                flow = settled
        return flow if part.active else Next.STOPPED

    def _take_one(self, part: PartitionState, record: Record, taken: Taken) -> Next:
        """Put one record where it belongs; what may follow it in this batch."""
        writer = part.writer
        while True:
            if not part.active or record.offset >= part.end:
                return Next.STOPPED
            if record.offset < part.consumed_to:
                return Next.ON
            repairing = writer.repair is not None
            if not repairing and self.budget.records_left() == 0:
                return Next.STOPPED
            if writer.builder is None:
                resolved = writer.resolve()
                if resolved.step is Step.ADOPTED:
                    self._settle(part, resolved, record.offset, taken)
                    continue
            encoded = writer.encoder.encode(record)
            invalid = bool(encoded.problems) and writer.shape.on_invalid != "keep"
            if invalid and writer.shape.on_invalid == "fail":
                self._refuse(part, record, encoded, taken)
                return Next.STOPPED
            if writer.ends_before(record.offset, encoded):
                flow = self._settle(part, writer.store_open(), record.offset, taken)
                if flow is Next.ON:
                    flow = self._settle_uploads(part, taken, wait_until=_MAX_UPLOADING - 1)
                if flow is not Next.ON:
                    return flow
                continue
            if writer.builder is None:
                opened = writer.open(encoded.event_time, self._spool_bytes())
                if opened.step is Step.ADOPTED:
                    self._settle(part, opened, record.offset, taken)
                    continue
            if invalid:
                writer.add_dead_letter(record, encoded)
            else:
                writer.add(record, encoded)
            self._tally(part, record, encoded, repairing, invalid)
            taken.records += 1
            return Next.ON

    def _tally(
        self, part: PartitionState, record: Record, encoded: Encoded, repair: bool, invalid: bool
    ) -> None:
        report = self.report
        if (
            encoded.problems
            or record.value is None
            or encoded.time_from_field is False
            or not 0 <= encoded.event_time < MAX_TIMESTAMP_MS
        ):
            count_oddities(report.counts, record, encoded)
        part.consumed_to = record.offset + 1
        if not repair:  # a repair finishes what another run began: not this run's budget
            self.budget.take(1)
        if invalid:  # counted as dead letters once their companion is stored
            return
        report.records += 1
        part.records += 1
        size = len(record.value or b"") + len(record.key or b"")
        if record.headers:
            size += sum(len(value or b"") for _, value in record.headers)
        report.bytes_in += size
        report.bytes_encoded += len(encoded.line)

    def _settle(self, part: PartitionState, outcome: Outcome, offset: int, taken: Taken) -> Next:
        """Apply a writer's outcome to the partition; whether the record at `offset` may be
        taken next."""
        if outcome.step is Step.FAILED:
            self.report.refused |= outcome.refused
            self._stop(part, "failed", outcome.error, taken)
            return Next.STOPPED
        if outcome.step is Step.STORED:
            self._count_stored(part, outcome)
        elif outcome.step is Step.LOST_RACE:
            self.report.records -= outcome.records
            part.records -= outcome.records
            part.adopted_records += outcome.adopted
            self.budget.take(-outcome.records)
            part.consumed_to = taken.seek_to = outcome.resume_at
        elif outcome.step is Step.ADOPTED:
            part.adopted_records += outcome.records
            if outcome.resume_at > part.consumed_to:
                part.consumed_to = taken.seek_to = outcome.resume_at
        finished = part.writer.builder is None and not part.writer.uploading
        if part.active and part.position >= part.end and finished:
            self._stop(part, "done", None, taken)
        if not part.active:
            return Next.STOPPED
        if outcome.step is Step.LOST_RACE and part.consumed_to < offset:
            taken.rewound = True
            return Next.REWOUND
        return Next.ON

    def _count_stored(self, part: PartitionState, outcome: Outcome) -> None:
        report = self.report
        report.objects += 1
        report.bytes_out += outcome.size
        report.dead_letters += outcome.dead_letters
        part.dead_letters += outcome.dead_letters
        bump(report.counts, "late_records", outcome.late_records)
        for column, unfit in outcome.unfit.items():
            bump(report.counts, f"parquet_unfit {column}", unfit)

    def _refuse(self, part: PartitionState, record: Record, encoded: Encoded, taken: Taken) -> None:
        """KAFKA_BEAT_ON_INVALID=fail: store what came before the record, then stop there."""
        problem = encoded.problems[0]
        at = f" at byte {problem.byte}" if problem.byte is not None else ""
        count_oddities(self.report.counts, record, encoded)
        self._close(part, taken)
        self._stop(
            part,
            "invalid",
            f"{record.topic}:{record.partition} offset {record.offset}: {problem.field} is "
            f"invalid ({problem.error}{at}); fix the producer, or set "
            "KAFKA_BEAT_ON_INVALID=dead_letter or keep",
            taken,
        )

    def _spool_bytes(self) -> int:
        """Memory an open object may keep before spilling to disk: the setting, shared out so
        that all partitions' open objects together stay within a fixed budget."""
        active = max(1, self.active_partitions())
        return max(_MIN_SPOOL_BYTES, min(self.spool_memory_bytes, _SPOOL_BUDGET // active))

    # -- closing objects -----------------------------------------------------------------------

    def close_object(self, part: PartitionState, assigned: bool = True) -> Taken:
        """Store the open object (a repair only if its range was read whole) and wait for
        every upload of the partition."""
        taken = Taken()
        self._close(part, taken, assigned)
        return taken

    def _close(self, part: PartitionState, taken: Taken, assigned: bool = True) -> Next:
        queued = self._queue_close(part, taken, assigned)
        settled = self._settle_uploads(part, taken, wait_until=0)
        return queued if queued is not Next.ON else settled

    def queue_close(self, part: PartitionState, interrupted: bool = False) -> Taken:
        """Hand the open object to the upload pool without waiting (several partitions'
        last objects then upload together); `close_object` without the wait. `interrupted`:
        an error may have ended a batch before all its records were taken."""
        taken = Taken()
        self._queue_close(part, taken, not interrupted)
        return taken

    def _queue_close(self, part: PartitionState, taken: Taken, assigned: bool = True) -> Next:
        """`assigned`: the consumer's fetch position speaks for this partition (it is still
        ours, and every record fetched was taken), so a repair whose range it passed without
        a record had that range compacted away."""
        fetched_to = part.consumed_to
        if part.writer.repair is not None and assigned:
            # Where the consumer fetches next: where this call has already sent it, if it has.
            position = taken.seek_to
            if position is None:
                position = self.fetch_position(part.ref)
            fetched_to = max(fetched_to, position)
        return self._settle(part, part.writer.flush(fetched_to), part.consumed_to, taken)

    # -- ending partitions -------------------------------------------------------------------

    def stop(self, part: PartitionState, status: Lifecycle, error: str | None = None) -> Taken:
        taken = Taken()
        self._stop(part, status, error, taken)
        return taken

    def _stop(
        self, part: PartitionState, status: Lifecycle, error: str | None, taken: Taken
    ) -> None:
        part.status = status
        if error:
            part.error = error
            self.report.errors.append(error)
            log.error(error, extra={"topic": part.ref.topic, "partition": part.ref.partition})
        if status not in ("done", "budget"):
            part.writer.abandon()
        taken.stopped = True

    def data_lost(self, part: PartitionState, offset: int, log_start: int, skip: bool) -> Taken:
        """Retention deleted [offset, log_start) before it was read: store what is open, then
        stop the partition there, or (`skip`) go on from the log start, the gap recorded."""
        taken = Taken()
        part.lost_offsets += log_start - offset
        closed = self._close(part, taken)
        if not skip:
            self._stop(part, "data_loss", loss_message(part.ref, offset, log_start), taken)
        elif closed is Next.ON:
            part.writer.skip_to(log_start)
            part.consumed_to = taken.seek_to = log_start
        return taken
