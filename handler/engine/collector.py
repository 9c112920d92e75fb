"""One run: consume from the committed offsets up to the budget, store objects, commit.

The ordering invariant, in the order a record meets it:

1. A partition starts at its chain position: the committed offset (or, with none, where
   `auto_offset_reset` says), never past data retention deleted unless the user said `skip`.
2. An object opens only at a free chain position. If an object already exists there (a crashed
   or parallel run stored it), it is adopted: the position moves to its `next`, and the records
   it holds are not stored again.
3. A sealed object is stored with a create-only write. The position moves to the object's `next`
   only once the store confirms it: created by this run, or found carrying this run's writer id
   (a retry after a lost response). Found with another writer id, it is adopted as in (2).
4. Only then is the position committed to the group; the committed offset is always a chain
   position, never the consumer's position (markers and compaction gaps move that elsewhere).
5. A partition whose store fails is stopped and not committed; the others go on; the run ends
   with status failed (exit 1). Nothing is lost: the next run starts where the chain ends.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from handler.chain.builder import ObjectBuilder, Rotation
from handler.chain.checkpoints import (
    checkpointed_topics,
    read_checkpoint,
    verified_checkpoint,
    write_checkpoint,
)
from handler.chain.dead_letters import count_oddities, store_dead_letter
from handler.chain.links import ChainLink, object_metadata, read_link
from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.engine.assignment import PartitionState, decide_start, loss_message
from handler.engine.budget import Budget
from handler.engine.committer import Committer
from handler.engine.failpoints import Failpoints
from handler.errors import AuthError, KafkaBeatError, TransientError
from handler.format.compression import CODECS
from handler.format.envelope import Encoded, Encoder
from handler.format.layout import MAX_TIMESTAMP_MS, META_GAP_FROM, manifest_key, object_key
from handler.kafka.source import KafkaSource, PollResult
from handler.kafka.topics import matching_topics
from handler.observe.logs import get_logger
from handler.observe.metrics import write_prometheus
from handler.observe.report import PartitionReport, PartitionStatus, RunReport
from handler.record import Record
from handler.stores.base import PutOutcome, Store

_POLL_SECONDS = 0.5
# A killed run stays in the group until its session times out; wait that out, and then some.
_ASSIGNMENT_MARGIN_SECONDS = 15.0
_SPOOL_BUDGET = 32 * 1024 * 1024
_MIN_SPOOL_BYTES = 256 * 1024
log = get_logger()


class Collector:
    """Carries one run; `run()` returns the report and never raises a KafkaBeatError."""

    def __init__(
        self,
        settings: Settings,
        source: KafkaSource,
        store: Store,
        budget: Budget,
        run_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.source = source
        self.store = store
        self.budget = budget
        self.run_id = run_id or uuid.uuid4().hex
        self.codec = CODECS[settings.compression]
        self.rotation = Rotation(settings.max_object_records, settings.max_object_bytes)
        self.encoder = Encoder(settings.key_format, settings.value_format, settings.time_field)
        self.report = RunReport(
            run_id=self.run_id, destination=store.describe(), dry_run=settings.dry_run
        )
        self.parts: dict[PartitionRef, PartitionState] = {}
        self._stored: dict[PartitionRef, list[dict[str, object]]] = {}
        self._clock = clock
        self._failpoints = Failpoints(settings.failpoint)
        self.committer = Committer(source, settings.commit_attempts, self.run_id, self._failpoints)
        self._known_gaps: dict[PartitionRef, tuple[tuple[int, int], ...]] = {}
        self._extensions = [self.codec.extension] + [
            codec.extension for codec in CODECS.values() if codec is not self.codec
        ]

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> RunReport:
        started = self._clock()
        try:
            self._missing_topics(self.source.start())
            if self.settings.assign_mode:
                self._adopt_assignment(self.source.assignment(), seek_all=True)
            self._consume()
            self._flush_all()
            self._write_manifest()
        except KafkaBeatError as exc:
            self._fail_run(str(exc))
            self.report.refused = isinstance(exc, AuthError)
            self._flush_all()
        finally:
            self.report.duration_seconds = round(self._clock() - started, 3)
            self._finish_report()
        return self.report

    def _missing_topics(self, missing: list[str]) -> None:
        """Listed topics the cluster lacks fail the run (after the others are collected);
        topics a pattern matched in earlier runs that are gone now are only reported."""
        if missing:
            self._fail_run(
                f"topics {missing} do not exist on the cluster; the other topics are collected. "
                "Create them, or remove them from KAFKA_BEAT_TOPICS / KAFKA_BEAT_PARTITIONS"
            )
        elif self.settings.topic_pattern:
            seen = checkpointed_topics(self.store)
            missing = matching_topics(self.settings, seen - self.source.topics())
            if missing:
                log.warning("topics collected before no longer exist", extra={"topics": missing})
        self.report.missing_topics = missing

    def _consume(self) -> None:
        waited_since = self._clock()
        while True:
            reason = self.budget.exhausted()
            if reason:
                self.report.stop_reason = reason
                return
            if self.parts and not any(part.active for part in self.parts.values()):
                return
            assignment_wait = self.settings.session_timeout_seconds + _ASSIGNMENT_MARGIN_SECONDS
            if not self.parts and self._clock() - waited_since > assignment_wait:
                log.warning("no partition was assigned to this run; the group has other members")
                self.report.stop_reason = "no_assignment"
                return
            seconds_left = self.budget.seconds_left()
            timeout = _POLL_SECONDS if seconds_left is None else min(_POLL_SECONDS, seconds_left)
            result = self.source.poll(timeout, self.budget.records_left())
            self._track_assignment(result)
            for ref, records in result.records.items():
                part = self.parts.get(ref)
                if part is not None and part.active:
                    self._take(part, records)
            self._finish_caught_up()
            self._commit_pending()

    def _track_assignment(self, result: PollResult) -> None:
        if self.settings.assign_mode:
            for ref, offset in result.out_of_range.items():
                self._data_lost_midway(self.parts[ref], offset)
            return
        assigned = self.source.assignment()
        for part in self.parts.values():
            if part.active and part.ref not in assigned:
                self._hand_over(part)
        new = {
            ref
            for ref in assigned
            if ref not in self.parts or self.parts[ref].report.status == "revoked"
        }
        if new:
            self._adopt_assignment(
                new,
                seek_all=False,
                no_offset=result.without_offset,
                out_of_range=result.out_of_range,
            )
        for ref, offset in result.out_of_range.items():
            if ref not in new and ref in self.parts and self.parts[ref].active:
                self._data_lost_midway(self.parts[ref], offset)

    # -- partitions joining ---------------------------------------------------------------------

    def _adopt_assignment(
        self,
        refs: set[PartitionRef],
        seek_all: bool,
        no_offset: set[PartitionRef] | None = None,
        out_of_range: dict[PartitionRef, int] | None = None,
    ) -> None:
        bounds = self.source.log_bounds(sorted(refs))
        for ref in sorted(refs):
            log_start, end = bounds[ref]
            committed = None if ref in (no_offset or ()) else self.source.committed(ref)
            if out_of_range and ref in out_of_range:
                committed = out_of_range[ref]
            self._start_partition(ref, committed, log_start, end, seek_all)

    def _start_partition(
        self, ref: PartitionRef, committed: int | None, log_start: int, end: int, seek: bool
    ) -> None:
        checkpoint = verified_checkpoint(self.store, ref.topic, ref.partition)
        if checkpoint is not None:
            self._known_gaps[ref] = checkpoint.gaps
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
        report = PartitionReport(
            topic=ref.topic,
            partition=ref.partition,
            start_offset=start,
            end_offset=start,
            end_offset_at_start=end,
            committed=None,
            lost_offsets=lost,
            log_start_offset=log_start,
        )
        part = PartitionState(ref, report, end, start, start, committed)
        self.parts[ref] = part
        self.report.partitions = [p.report for p in self.parts.values()]
        if lost and self.settings.on_data_loss == "fail":
            resumed = decision.resumed_from or 0
            report.start_offset = report.end_offset = resumed
            part.position = part.consumed_to = resumed
            self._stop(part, "data_loss", loss_message(ref, resumed, log_start))
            return
        if lost:
            part.gap_from = decision.resumed_from
            log.warning(
                "data lost before it was read; continuing from the earliest record",
                extra={"topic": ref.topic, "partition": ref.partition, "lost": lost},
            )
        if seek or start != committed:
            self.source.seek(ref, start)
        if start >= end:
            part.active = False
            self.source.pause(ref)

    def _data_lost_midway(self, part: PartitionState, offset: int) -> None:
        log_start, _ = self.source.log_bounds([part.ref])[part.ref]
        if offset >= log_start:
            raise TransientError(
                f"{part.ref.topic}:{part.ref.partition}: offset {offset} is "
                "out of range above the log end; the partition may be recovering"
            )
        part.report.lost_offsets += log_start - offset
        if self.settings.on_data_loss == "fail":
            self._store_open_object(part)
            self._stop(part, "data_loss", loss_message(part.ref, offset, log_start))
            return
        if not self._store_open_object(part):
            return
        part.gap_from = part.position
        part.position = part.consumed_to = log_start
        self.source.seek(part.ref, log_start)

    # -- records into objects ---------------------------------------------------------------

    def _take(self, part: PartitionState, records: list[Record]) -> None:
        # The hot loop: per-record work stays inline, the rare cases call out.
        encode = self.encoder.encode
        counts = self.report.counts
        divert_invalid = self.settings.on_invalid != "keep"
        report = self.report
        for record in records:
            if not part.active or record.offset >= part.end:
                return
            if record.offset < part.consumed_to:
                continue
            if self.budget.records_left() == 0:
                return
            encoded = encode(record)
            if encoded.problems and divert_invalid:
                if not self._divert(part, record, encoded):
                    return
                count_oddities(counts, record, encoded)
                continue
            line = encoded.line
            builder = part.builder
            if builder is not None and self.rotation.starts_new_object(
                builder, encoded.event_time, len(line)
            ):
                if not self._store_open_object(part):
                    return
                if record.offset < part.consumed_to:
                    continue
            while part.builder is None and part.active and record.offset >= part.consumed_to:
                self._open_object(part, encoded.event_time)
            builder = part.builder
            if builder is None:
                continue
            builder.add(record, line, encoded.event_time)
            if (
                encoded.problems
                or record.value is None
                or encoded.time_from_field is False
                or not 0 <= encoded.event_time < MAX_TIMESTAMP_MS
            ):
                count_oddities(counts, record, encoded)
            part.consumed_to = record.offset + 1
            self.budget.records_taken += 1
            report.records += 1
            part.report.records += 1
            size = len(record.value or b"") + len(record.key or b"")
            if record.headers:
                size += sum(len(value or b"") for _, value in record.headers)
            report.bytes_in += size
            report.bytes_encoded += len(line)

    def _divert(self, part: PartitionState, record: Record, encoded: Encoded) -> bool:
        """Take an invalid record out of the data stream; False if the partition stops.

        A dead letter is stored (create-only, one object per record, named by its offset)
        before any data object that follows it, so an adopted data object implies its dead
        letters are stored. Objects never end with a dead letter: the chain's `next` stays a
        function of the data records, and a run that stops right after a dead letter sees it
        again next time, where the create answers that it exists.
        """
        where = f"{record.topic}:{record.partition} offset {record.offset}"
        problem = encoded.problems[0]
        at = f" at byte {problem.byte}" if problem.byte is not None else ""
        if self.settings.on_invalid == "fail":
            count_oddities(self.report.counts, record, encoded)
            self._store_open_object(part)
            self._stop(
                part,
                "invalid",
                f"{where}: {problem.field} is invalid ({problem.error}"
                f"{at}); fix the producer, or set KAFKA_BEAT_ON_INVALID=dead_letter "
                "or keep",
            )
            return False
        try:
            created = store_dead_letter(
                self.store,
                self.codec,
                self.settings.compression_level,
                self.run_id,
                record,
                encoded,
            )
        except KafkaBeatError as exc:
            self._store_open_object(part)
            self._stop(part, "failed", f"storing the dead letter of {where} failed: {exc}")
            return False
        part.consumed_to = record.offset + 1
        self.budget.take(1)
        if created:  # not when a crashed run, or an earlier one, stored it already
            self.report.dead_letters += 1
            part.report.dead_letters += 1
        return True

    def _key_for(self, part: PartitionState, event_time: int, extension: str) -> str:
        return object_key(
            self.store.prefix,
            part.ref.topic,
            part.ref.partition,
            part.position,
            event_time,
            extension,
        )

    def _open_object(self, part: PartitionState, event_time: int) -> None:
        """Open an object at the chain position, or adopt the one already there.

        Every codec's name is looked up, not only the configured one: a run whose compression
        setting changed must still see an object a crashed run left under the old codec."""
        for extension in self._extensions:
            existing = self._key_for(part, event_time, extension)
            link = read_link(
                self.store, existing, part.position, part.ref.topic, part.ref.partition
            )
            if link is not None:
                self._adopt(part, link)
                return
        key = self._key_for(part, event_time, self.codec.extension)
        part.builder = ObjectBuilder(
            part.ref.topic,
            part.ref.partition,
            part.position,
            key,
            event_time,
            self.codec,
            self.settings.compression_level,
            self._spool_bytes(),
        )
        self._failpoints.reach("after_open")

    def _spool_bytes(self) -> int:
        """Memory an open object may keep before spilling to disk: the setting, shared out so
        that all partitions' open objects together stay within a fixed budget."""
        active = max(1, sum(1 for part in self.parts.values() if part.active))
        return max(_MIN_SPOOL_BYTES, min(self.settings.spool_memory_bytes, _SPOOL_BUDGET // active))

    def _adopt(self, part: PartitionState, link: ChainLink) -> None:
        log.info(
            "adopted an object already stored at this chain position",
            extra={"key": link.key, "start": link.start, "next": link.next},
        )
        part.position = link.next
        part.report.adopted_records += link.records
        if link.next > part.consumed_to:
            part.consumed_to = link.next
            self.source.seek(part.ref, link.next)
        if part.position >= part.end:
            self._stop(part, "done")

    def _store_open_object(self, part: PartitionState) -> bool:
        """Store the open object. False when the records in hand cannot follow it: the
        partition stopped, or another writer's shorter object won and the consumer rewound."""
        builder, part.builder = part.builder, None
        if builder is None or builder.records == 0:
            return True
        if builder.late_records:
            late = self.report.counts.get("late_records", 0)
            self.report.counts["late_records"] = late + builder.late_records
        sealed = builder.seal()
        metadata = object_metadata(sealed, self.run_id)
        if part.gap_from is not None:
            metadata[META_GAP_FROM] = str(part.gap_from)
        try:
            self._failpoints.reach("before_store")
            outcome = self.store.put_if_absent(
                sealed.key,
                self._failpoints.wrap_body(sealed.body),
                sealed.size,
                metadata,
                self.codec.content_type,
            )
            if outcome is PutOutcome.EXISTS:
                link = read_link(
                    self.store, sealed.key, sealed.start, part.ref.topic, part.ref.partition
                )
                if link is None or link.writer != self.run_id:
                    self._lost_race(part, sealed.records, link)
                    return part.active and part.position >= sealed.next
        except KafkaBeatError as exc:
            self.report.refused |= isinstance(exc, AuthError)
            self._stop(part, "failed", f"storing {sealed.key} failed: {exc}")
            return False
        finally:
            sealed.close()
        self._failpoints.reach("after_store")
        self._checkpoint(part, sealed.next, sealed.key)
        part.position = sealed.next
        part.report.objects.append(sealed.key)
        self._stored.setdefault(part.ref, []).append(
            {
                "key": sealed.key,
                "start": sealed.start,
                "next": sealed.next,
                "records": sealed.records,
                "bytes": sealed.size,
                "sha256": sealed.sha256,
            }
        )
        self.report.objects += 1
        self.report.bytes_out += sealed.size
        log.info(
            "stored object",
            extra={
                "key": sealed.key,
                "records": sealed.records,
                "bytes": sealed.size,
                "next": sealed.next,
            },
        )
        return True

    def _checkpoint(self, part: PartitionState, next_position: int, key: str) -> None:
        topic, partition = part.ref
        try:
            gaps = list(self._known_gaps.get(part.ref, ()))
            if part.gap_from is not None:
                previous = read_checkpoint(self.store, topic, partition)
                gaps = [*(previous.gaps if previous else ()), (part.gap_from, part.position)]
                part.gap_from = None
            self._known_gaps[part.ref] = tuple(gaps)
            write_checkpoint(
                self.store, topic, partition, next_position, key, self.run_id, tuple(gaps)
            )
        except KafkaBeatError as exc:  # a hint only: the chain walk finds the object anyway
            log.warning("could not write the checkpoint", extra={"key": key, "error": str(exc)})

    def _lost_race(self, part: PartitionState, records: int, link: ChainLink | None) -> None:
        """Another writer stored this position first: its object wins, ours is dropped."""
        self.report.records -= records
        part.report.records -= records
        self.budget.take(-records)
        if link is None:
            raise TransientError(
                f"{part.ref.topic}:{part.ref.partition}: the store reported "
                "an object that then could not be read; retry the run"
            )
        # Re-read from the winner's end: it may hold fewer records than ours did.
        part.consumed_to = link.start
        self._adopt(part, link)

    # -- ending partitions and the run ----------------------------------------------------------

    def _finish_caught_up(self) -> None:
        for part in self.parts.values():
            caught_up = part.active and (
                part.consumed_to >= part.end or self.source.position(part.ref) >= part.end
            )
            if caught_up and self._store_open_object(part):
                self._stop(part, "done")

    def _stop(
        self, part: PartitionState, status: PartitionStatus, error: str | None = None
    ) -> None:
        part.active = False
        part.report.status = status
        if error:
            part.report.error = error
            self.report.errors.append(error)
            log.error(error, extra={"topic": part.ref.topic, "partition": part.ref.partition})
        if part.builder is not None and status not in ("done", "budget"):
            part.builder.discard()
            part.builder = None
        self.source.pause(part.ref)

    def _hand_over(self, part: PartitionState) -> None:
        """The group gave this partition to another member: store what we hold, don't commit."""
        self._store_open_object(part)
        part.active = False
        part.report.status = "revoked"

    def _flush_all(self) -> None:
        for part in self.parts.values():
            if part.builder is not None:
                stopped = part.active
                if self._store_open_object(part) and stopped:
                    part.report.status = "budget"
        self._commit_pending(final=True)

    def _commit_pending(self, final: bool = False) -> None:
        if self.settings.dry_run:
            return
        outcome = self.committer.commit(self.parts)
        for ref, error in outcome.failed.items():
            self._stop(self.parts[ref], "commit_failed", error)
        if final:
            for ref in outcome.refused:
                self.parts[ref].report.status = "commit_refused"

    def _write_manifest(self) -> None:
        """The run's chain-of-custody record: what it stored, where, with which hashes."""
        if not (self._stored or self.report.dead_letters) or self.settings.dry_run:
            return
        manifest = {
            "format": 1,
            "run_id": self.run_id,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "partitions": [
                {
                    "topic": part.ref.topic,
                    "partition": part.ref.partition,
                    "start_offset": part.report.start_offset,
                    "end_offset": part.position,
                    "records": part.report.records,
                    "dead_letters": part.report.dead_letters,
                    "lost_offsets": part.report.lost_offsets,
                    "objects": self._stored.get(part.ref, []),
                }
                for part in self.parts.values()
                if self._stored.get(part.ref) or part.report.dead_letters
            ],
        }
        body = orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
        key = manifest_key(self.store.prefix, self.run_id)
        try:
            self.store.put_if_absent(key, io.BytesIO(body), len(body), {}, "application/json")
        except KafkaBeatError as exc:
            self._fail_run(
                f"the objects are stored and committed, but the manifest {key} "
                f"could not be written: {exc}"
            )
            return
        self.report.manifest = key

    def _fail_run(self, message: str) -> None:
        self.report.errors.append(message)
        self.report.status = "failed"
        log.error(message)

    def _finish_report(self) -> None:
        for part in self.parts.values():
            part.report.end_offset = part.position
            part.report.lag = max(0, part.end - part.position)
            part.report.retention_headroom = max(0, part.position - part.report.log_start_offset)
            if part.report.status in ("failed", "data_loss", "commit_failed", "invalid"):
                self.report.status = "failed"
        if self.report.errors:
            self.report.status = "failed"


def run(settings: Settings, budget: Budget | None = None, run_id: str | None = None) -> RunReport:
    """Build the store and the consumer, carry one run, and always close the consumer.

    Raises KafkaBeatError only for what stops the run before it consumes anything (an
    unreachable broker, a bucket that does not exist); every later failure is in the report.
    With KAFKA_BEAT_METRICS_FILE set, the file is rewritten either way.
    """
    from handler.stores import open_store
    from handler.stores.create_only import require_create_only
    from handler.stores.dry_run import DryRunStore

    run_id = run_id or uuid.uuid4().hex
    budget = budget or Budget(settings.max_records, settings.max_seconds)
    report: RunReport | None = None
    try:
        store: Store = open_store(settings)
        store.check()
        if settings.dry_run:
            store = DryRunStore(store)
        else:
            require_create_only(store, settings.delivery)
        source = KafkaSource(settings)
        try:
            report = Collector(settings, source, store, budget, run_id=run_id).run()
        finally:
            source.close()
        return report
    except KafkaBeatError as exc:
        report = RunReport(run_id=run_id, destination=settings.destination, status="failed")
        report.errors.append(str(exc))
        raise
    finally:
        if settings.metrics_file and report is not None:
            write_prometheus(settings.metrics_file, report, settings.group_id)
