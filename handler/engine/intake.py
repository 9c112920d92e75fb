"""Records into objects: one batch of one partition at a time, each record to its writer.

Per record, in order: skip what is already taken; resolve the chain position before anything
is encoded for it (a repair re-reads with the settings it records); encode; divert an invalid
record to its dead letter; store the open object when the record starts a new one; open (or
adopt) an object; append. The writer answers every step with an outcome, applied here to the
partition and its consumer (`settle`): nothing below this calls back up.
"""

from __future__ import annotations

from collections.abc import Callable

from handler.chain.config import ChainConfig
from handler.chain.outcomes import Outcome, Step
from handler.engine.budget import Budget
from handler.engine.partition import Lifecycle, PartitionState
from handler.format.envelope import Encoded
from handler.format.layout import MAX_TIMESTAMP_MS, hour_bucket
from handler.kafka.source import Source
from handler.observe.logs import get_logger
from handler.observe.report import RunReport
from handler.record import Record

_SPOOL_BUDGET = 32 * 1024 * 1024
_MIN_SPOOL_BYTES = 256 * 1024
log = get_logger()


class Intake:
    def __init__(
        self,
        source: Source,
        config: ChainConfig,
        budget: Budget,
        report: RunReport,
        spool_memory_bytes: int,
        active_partitions: Callable[[], int],
    ) -> None:
        self.source = source
        self.config = config
        self.budget = budget
        self.report = report
        self._spool_memory_bytes = spool_memory_bytes
        self._active_partitions = active_partitions

    def take(self, part: PartitionState, records: list[Record]) -> None:
        for record in records:
            if not self._take_one(part, record):
                return

    def _take_one(self, part: PartitionState, record: Record) -> bool:
        """Put one record where it belongs; False when no later record of this batch can
        follow (the partition stopped, the budget ran out, or the consumer was rewound)."""
        writer = part.writer
        while True:
            if not part.active or record.offset >= part.end:
                return False
            if record.offset < part.consumed_to:
                return True
            repairing = writer.repair is not None
            if not repairing and self.budget.records_left() == 0:
                return False
            if writer.builder is None:
                resolved = writer.resolve()
                if resolved.step is Step.ADOPTED:
                    self._settle(part, resolved, record.offset)
                    continue
            encoded = writer.encoder.encode(record)
            invalid = bool(encoded.problems) and writer.shape.on_invalid != "keep"
            if invalid and writer.shape.on_invalid == "fail":
                return self._refuse(part, record, encoded)
            line = encoded.line
            if writer.ends_before(record.offset, encoded.event_time, len(line)):
                if not self._settle(part, writer.store_open(), record.offset):
                    return False
                continue
            if writer.builder is None:
                opened = writer.open(encoded.event_time, self._spool_bytes())
                if opened.step is Step.ADOPTED:
                    self._settle(part, opened, record.offset)
                    continue
            if invalid:
                writer.add_dead_letter(record, line, encoded.event_time)
            else:
                writer.add(record, line, encoded.event_time)
            self._tally(part, record, encoded, repairing, invalid)
            return True

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

    def _settle(self, part: PartitionState, outcome: Outcome, offset: int) -> bool:
        """Apply a writer's outcome to the partition and its consumer; False when the record at
        `offset` cannot be taken next (the partition stopped, or earlier records come first)."""
        if outcome.step is Step.FAILED:
            self.report.refused |= outcome.refused
            self.stop(part, "failed", outcome.error)
            return False
        if outcome.step is Step.STORED:
            self.report.objects += 1
            self.report.bytes_out += outcome.size
            self.report.dead_letters += outcome.dead_letters
            part.dead_letters += outcome.dead_letters
            if outcome.late_records:
                counts = self.report.counts
                counts["late_records"] = counts.get("late_records", 0) + outcome.late_records
            log.info(
                "stored object",
                extra={
                    "key": outcome.key,
                    "records": outcome.records,
                    "bytes": outcome.size,
                    "next": outcome.resume_at,
                },
            )
        elif outcome.step is Step.LOST_RACE:
            self.report.records -= outcome.records
            part.records -= outcome.records
            part.adopted_records += outcome.adopted
            self.budget.take(-outcome.records)
            part.consumed_to = outcome.resume_at
            self.source.seek(part.ref, outcome.resume_at)
        elif outcome.step is Step.ADOPTED:
            part.adopted_records += outcome.records
            if outcome.resume_at > part.consumed_to:
                part.consumed_to = outcome.resume_at
                self.source.seek(part.ref, outcome.resume_at)
        if part.active and part.position >= part.end and part.writer.builder is None:
            self.stop(part, "done")
        rewound = outcome.step is Step.LOST_RACE and part.consumed_to < offset
        return part.active and not rewound

    def _refuse(self, part: PartitionState, record: Record, encoded: Encoded) -> bool:
        """KAFKA_BEAT_ON_INVALID=fail: store what came before the record, then stop there."""
        problem = encoded.problems[0]
        at = f" at byte {problem.byte}" if problem.byte is not None else ""
        count_oddities(self.report.counts, record, encoded)
        self.close_object(part)
        self.stop(
            part,
            "invalid",
            f"{record.topic}:{record.partition} offset {record.offset}: {problem.field} is "
            f"invalid ({problem.error}{at}); fix the producer, or set "
            "KAFKA_BEAT_ON_INVALID=dead_letter or keep",
        )
        return False

    def _spool_bytes(self) -> int:
        """Memory an open object may keep before spilling to disk: the setting, shared out so
        that all partitions' open objects together stay within a fixed budget."""
        active = max(1, self._active_partitions())
        return max(_MIN_SPOOL_BYTES, min(self._spool_memory_bytes, _SPOOL_BUDGET // active))

    def close_object(self, part: PartitionState, assigned: bool = True) -> bool:
        """Store the open object (a repair only if its range was read whole); False when the
        partition stopped or its consumer was rewound."""
        fetched_to = part.consumed_to
        if part.writer.repair is not None and assigned:
            fetched_to = max(fetched_to, self.source.position(part.ref))
        return self._settle(part, part.writer.flush(fetched_to), part.consumed_to)

    # -- ending partitions and the run ----------------------------------------------------------

    def stop(self, part: PartitionState, status: Lifecycle, error: str | None = None) -> None:
        part.status = status
        if error:
            part.error = error
            self.report.errors.append(error)
            log.error(error, extra={"topic": part.ref.topic, "partition": part.ref.partition})
        if status not in ("done", "budget"):
            part.writer.discard()
        self.source.pause(part.ref)


def count_oddities(counts: dict[str, int], record: Record, encoded: Encoded) -> None:
    """Tally what the run summary reports about unusual records."""

    def bump(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    for problem in encoded.problems:
        bump(f"invalid {problem.reason()}")
    if record.value is None:
        bump("tombstones")
    if hour_bucket(encoded.event_time) is None:
        bump("unknown_time")
    if encoded.time_from_field is False:
        bump("time_field_missing")
