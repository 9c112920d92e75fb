"""Records into objects: one batch of one partition at a time, each record to its writer.

Per record, in order: skip what is already taken; resolve the chain position before anything
is encoded for it (a repair re-reads with the settings it records); encode; divert an invalid
record to its dead letter; store the open object when the record starts a new one; open (or
adopt) an object; append. The writer answers every step with an outcome, applied here to the
partition and its consumer (`settle`): nothing below this calls back up.

A sealed object is queued on the upload pool and the next one opens at its end; the outcomes
of finished uploads are settled after each batch, in chain order, and at most
`_MAX_UPLOADING` objects of one partition are in flight (then the consuming thread waits for
the oldest). A partition ends, or the run does, only once its uploads are settled.
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
# Objects of one partition sealed but not yet confirmed: enough to overlap one upload with
# building the next, each holding its spool (memory up to its share, then disk).
_MAX_UPLOADING = 2
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
        index, count = 0, len(records)
        while index < count:
            index = self._take_run(part, records, index)
            if index < count:
                if not self._take_one(part, records[index]):
                    break
                index += 1
        self.settle_uploads(part)

    def _take_run(self, part: PartitionState, records: list[Record], index: int) -> int:
        """The hot path: append records to the open object in one tight loop while nothing
        but appending is to be done, the counters kept in locals and added once; the index
        of the first record that needs more (none open, a repair, the end or the budget
        reached, an invalid record, a rotation), which `_take_one` then takes."""
        writer = part.writer
        builder = writer.builder
        if builder is None or writer.repair is not None or not part.active:
            return index
        if builder.records == 0:
            return index  # an object's first record always lands: `_take_one` decides it
        left = self.budget.records_left()
        stop = len(records) if left is None else min(len(records), index + left)
        encode = writer.encoder.encode
        room = self.config.rotation.room(builder, writer.companion)
        room_records, room_bytes, later_hour_ms = room.records, room.bytes, room.later_hour_ms
        add = builder.add
        end, consumed_to = part.end, part.consumed_to
        counts = self.report.counts
        taken = bytes_in = bytes_encoded = 0
        while index < stop:
            record = records[index]
            offset = record.offset
            if offset >= end or offset < consumed_to:
                break
            encoded = encode(record)
            line = encoded.line
            moment = encoded.event_time
            if (
                encoded.problems
                or room_records <= 0
                or len(line) > room_bytes
                or later_hour_ms <= moment < MAX_TIMESTAMP_MS
            ):
                break  # re-encoded there: rare, against the calls per record saved here
            room_records -= 1
            room_bytes -= len(line)
            add(record, encoded)
            value, key, headers = record.value, record.key, record.headers
            if (
                value is None
                or encoded.time_from_field is False
                or not 0 <= moment < MAX_TIMESTAMP_MS
            ):
                count_oddities(counts, record, encoded)
            bytes_in += (len(value) if value else 0) + (len(key) if key else 0)
            for _, header in headers:
                if header:
                    bytes_in += len(header)
            bytes_encoded += len(line)
            consumed_to = offset + 1
            taken += 1
            index += 1
        if taken:
            part.consumed_to = consumed_to
            part.records += taken
            self.budget.take(taken)
            report = self.report
            report.records += taken
            report.bytes_in += bytes_in
            report.bytes_encoded += bytes_encoded
        return index

    def settle_uploads(self, part: PartitionState, wait_until: int | None = None) -> bool:
        """Apply the outcomes of the partition's finished uploads (with `wait_until`, first
        wait until at most that many are in flight); False when the partition stopped or its
        consumer was rewound."""
        settled = True
        for outcome in part.writer.completed(wait_until):
            settled = self._settle(part, outcome, part.consumed_to) and settled
        return settled and part.active

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
                if not self.settle_uploads(part, wait_until=_MAX_UPLOADING - 1):
                    return False
                continue
            if writer.builder is None:
                opened = writer.open(encoded.event_time, self._spool_bytes())
                if opened.step is Step.ADOPTED:
                    self._settle(part, opened, record.offset)
                    continue
            if invalid:
                writer.add_dead_letter(record, encoded)
            else:
                writer.add(record, encoded)
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
            counts = self.report.counts
            if outcome.late_records:
                counts["late_records"] = counts.get("late_records", 0) + outcome.late_records
            for column, unfit in outcome.unfit.items():
                if unfit:
                    name = f"parquet_unfit {column}"
                    counts[name] = counts.get(name, 0) + unfit
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
        finished = part.writer.builder is None and not part.writer.uploading
        if part.active and part.position >= part.end and finished:
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
        """Store the open object (a repair only if its range was read whole) and wait for
        every upload of the partition; False when the partition stopped or its consumer was
        rewound."""
        queued = self.queue_close(part, assigned)
        return self.settle_uploads(part, wait_until=0) and queued

    def queue_close(self, part: PartitionState, assigned: bool = True) -> bool:
        """Hand the open object to the upload pool without waiting (several partitions'
        last objects then upload together); `close_object` without the wait."""
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
