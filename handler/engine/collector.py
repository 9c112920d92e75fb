"""One run: consume from the committed offsets up to the budget, store objects, commit.

The ordering invariant, in the order a record meets it:

1. A partition starts at its chain position: the committed offset (or, with none, where
   `auto_offset_reset` says), never past data retention deleted unless the user said `skip`.
2. Before an object opens at a position, what stands there is resolved (`chain/writer.py`): an
   object there (a crashed or parallel run stored it) is adopted, the position moves to its
   `next` and the records it holds are not stored again; one its position record names but that
   was never stored is rebuilt from exactly its range.
3. A sealed object is claimed (a create-only position record), then stored (a create-only
   write), on the upload pool while the next object fills; one partition's objects are stored
   one after another, in chain order, each only once the one before it is. The position moves
   to an object's `next` only once the store confirms it; a position another writer claimed
   first is resolved again as in (2), the objects queued behind ours are dropped unstored, and
   the consumer goes where the resolution says.
4. Only then is the position committed to the group; the committed offset is always a chain
   position, never the consumer's position (markers and compaction gaps move that elsewhere).
5. A partition whose store fails is stopped and not committed; the others go on; the run ends
   with status failed (exit 1). Nothing is lost: the next run starts where the chain ends.
6. A stop asked for (SIGTERM, Ctrl-C: `stopping.py`) ends the budget at once: the open objects
   are stored as far as the grace allows, and what is still uploading when the time for
   storing is over is abandoned — never settled, so its position never committed; the next
   run adopts or rebuilds it, as after a crash.

Over 300 lines because it is the loop and the only code that moves the consumer: every event
of a run (a poll, an assignment, a revocation, data lost midway, the tail of the time budget)
ends here (a stop asked for too); what to do about each is decided in intake, assignment and
the committer.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Collection

from handler.chain.checkpoints import checkpointed_topics
from handler.chain.config import ChainConfig
from handler.chain.uploads import UploadPool
from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.engine.assignment import Joiner
from handler.engine.budget import Budget
from handler.engine.committer import Committer
from handler.engine.intake import Intake, Taken
from handler.engine.partition import FAILED, PartitionState
from handler.engine.pipeline import CompressionWorker
from handler.errors import AuthError, KafkaBeatError, TransientError
from handler.failpoints import Failpoints
from handler.kafka.clients import open_source
from handler.kafka.source import PollResult, Source
from handler.kafka.topics import matching_topics
from handler.observe.logs import get_logger
from handler.observe.manifest import write_manifest
from handler.observe.report import RunReport
from handler.stores.base import Store

_POLL_SECONDS = 0.5
# A killed run stays in the group until its session times out; wait that out, and then some.
_ASSIGNMENT_MARGIN_SECONDS = 15.0
# Of a stop's grace, kept back from storing beyond the slowest commit: the manifest, leaving
# the group, the summary and the metrics file.
_AFTER_STORING_SECONDS = 2.0
log = get_logger()


class Collector:
    """Carries one run; `run()` returns the report and never raises a KafkaBeatError."""

    def __init__(
        self,
        settings: Settings,
        source: Source,
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
        self.report = RunReport(
            run_id=self.run_id,
            destination=store.describe(),
            kafka_client=source.client,
            dry_run=settings.dry_run,
        )
        self.parts: dict[PartitionRef, PartitionState] = {}
        self._clock = clock
        failpoints = Failpoints(settings.failpoint)
        self._worker = CompressionWorker()
        self._uploads = (
            UploadPool(settings.upload_threads, self._storing_time_left)
            if settings.upload_threads
            else None
        )
        self._config = ChainConfig.from_settings(settings, self._worker, self._uploads)
        self.report.encoder = self._config.encoder_name
        self._joiner = Joiner(settings, source, store, self._config, self.run_id, failpoints)
        self._committer = Committer(source, settings.commit_attempts, self.run_id, failpoints)
        self._intake = Intake(
            self._config,
            budget,
            self.report,
            settings.spool_memory_bytes,
            lambda: sum(1 for part in self.parts.values() if part.active),
            source.position,
        )

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> RunReport:
        started = self._clock()
        try:
            self._missing_topics(self.source.start())
            if self.settings.assign_mode:
                self._join(self.source.assignment(), seek_all=True)
            self._consume()
            self._flush_all()
            self._write_manifest()
        except KafkaBeatError as exc:
            self._fail_run(str(exc))
            self.report.refused = isinstance(exc, AuthError)
            self._flush_all(interrupted=True)
        finally:
            abandoned = sum(part.writer.uploading for part in self.parts.values())
            if abandoned:
                log.warning(
                    "the stop's grace left no time to finish these uploads: abandoned, not "
                    "committed; the next run adopts or rebuilds them",
                    extra={"objects": abandoned},
                )
            if self._uploads is not None:
                # Every upload queued was settled or dropped, unless abandoned: the process
                # exits without waiting for those.
                self._uploads.shutdown(wait=not abandoned, cancel_futures=True)
            self._worker.shutdown(wait=True, cancel_futures=True)
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
                if reason == "signal":
                    self._log_stop()
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
                    self._move(part, self._intake.take(part, records))
            if self.budget.stopping:
                # Asked to stop meanwhile: the batch was taken only up to then, though the
                # consumer fetched past it. The flush stores what every partition holds.
                continue
            self._finish_caught_up()
            self._commit_pending()
            self._reserve_tail()

    def _log_stop(self) -> None:
        holding = [part for part in self.parts.values() if part.writer.objects_to_store]
        log.info(
            "asked to stop: storing what fits the grace, then committing",
            extra={
                "grace_seconds_left": round(self.budget.grace_left() or 0.0, 3),
                "uploading": sum(part.writer.uploading for part in holding),
                "objects_to_store": sum(part.writer.objects_to_store for part in holding),
                "partitions_storing": len(holding),
            },
        )

    def _reserve_tail(self) -> None:
        """Keep back, from the time budget, what storing the open objects and the commit are
        expected to take: the slowest object stored so far for each round of the upload
        threads, and the slowest commit."""
        slowest = max((part.writer.store_seconds for part in self.parts.values()), default=0.0)
        to_store = sum(part.writer.objects_to_store for part in self.parts.values())
        rounds = math.ceil(to_store / max(1, self.settings.upload_threads))
        self.budget.tail_seconds = slowest * rounds + self._committer.longest_seconds

    # -- partitions joining and leaving -------------------------------------------------------

    def _track_assignment(self, result: PollResult) -> None:
        if self.settings.assign_mode:
            for ref, offset in result.out_of_range.items():
                self._data_lost_midway(self.parts[ref], offset)
            return
        assigned = self.source.assignment()
        for part in self.parts.values():
            if part.active and part.ref not in assigned:
                # Another member owns it now: store what we hold, but do not commit.
                self._move(part, self._intake.close_object(part, assigned=False))
                self._move(part, self._intake.stop(part, "revoked"))
        new = {
            ref for ref in assigned if ref not in self.parts or self.parts[ref].status == "revoked"
        }
        if new:
            self._join(new, False, result)
        for ref, offset in result.out_of_range.items():
            if ref not in new and ref in self.parts and self.parts[ref].active:
                self._data_lost_midway(self.parts[ref], offset)

    def _join(
        self, refs: Collection[PartitionRef], seek_all: bool, polled: PollResult | None = None
    ) -> None:
        for part, seek_to in self._joiner.join(refs, seek_all, polled):
            self.parts[part.ref] = part
            if seek_to is not None:
                self.source.seek(part.ref, seek_to)
            if not part.active:
                self._move(part, self._intake.stop(part, part.status, part.error))

    def _data_lost_midway(self, part: PartitionState, offset: int) -> None:
        log_start, _ = self.source.log_bounds([part.ref])[part.ref]
        if offset >= log_start:
            raise TransientError(
                f"{part.ref.topic}:{part.ref.partition}: offset {offset} is "
                "out of range above the log end; the partition may be recovering"
            )
        skip = self.settings.on_data_loss == "skip"
        self._move(part, self._intake.data_lost(part, offset, log_start, skip))

    # -- records into objects ---------------------------------------------------------------

    def _finish_caught_up(self) -> None:
        caught_up = [
            part
            for part in self.parts.values()
            if part.active
            and (part.consumed_to >= part.end or self.source.position(part.ref) >= part.end)
        ]
        for part, closed in self._close_together(caught_up):
            if closed and part.active:
                self._move(part, self._intake.stop(part, "done"))

    def _storing_time_left(self) -> float | None:
        """Once a stop was asked for: how long uploads may still be waited for, so that the
        commit and what follows it fit in the rest of the grace (None: no stop asked for)."""
        grace = self.budget.grace_left()
        if grace is None:
            return None
        return grace - self._committer.longest_seconds - _AFTER_STORING_SECONDS

    def _flush_all(self, interrupted: bool = False) -> None:
        """Store what every partition holds, then commit. `interrupted`: an error ended the
        run, maybe in the middle of a batch, so the consumer may have fetched past records
        never taken: a repair is stored only if its every record was taken."""
        open_objects = [part for part in self.parts.values() if part.writer.holding]
        was_active = {part.ref for part in open_objects if part.active}
        storing_left = self._storing_time_left()
        if storing_left is not None and storing_left <= 0:
            # A stop with no time left to store: what is open stays unstored (never sealed,
            # so a repair's range is never stored short), and only what finished is settled.
            closing = [(part, self._move(part, self._intake.settle(part))) for part in open_objects]
        else:
            closing = self._close_together(open_objects, interrupted)
        for part, closed in closing:
            if closed and part.ref in was_active and part.active:
                self._move(part, self._intake.stop(part, "budget"))
        self._commit_pending(final=True)

    def _close_together(
        self, parts: list[PartitionState], interrupted: bool = False
    ) -> list[tuple[PartitionState, bool]]:
        """Close these partitions' objects, their uploads in flight together, then wait for
        each; per partition, whether it was closed (not stopped, not rewound)."""
        queued = [
            (part, self._move(part, self._intake.queue_close(part, interrupted))) for part in parts
        ]
        return [
            (part, self._move(part, self._intake.settle(part, wait_until=0)) and closed)
            for part, closed in queued
        ]

    def _move(self, part: PartitionState, taken: Taken) -> bool:
        """Move the partition's consumer as intake decided; whether the partition goes on
        (not stopped, not sent back)."""
        if taken.seek_to is not None:
            self.source.seek(part.ref, taken.seek_to)
        if taken.stopped:
            self.source.pause(part.ref)
        return part.active and not taken.rewound

    def _commit_pending(self, final: bool = False) -> None:
        if self.settings.dry_run:
            return
        outcome = self._committer.commit(self.parts)
        for ref, error in outcome.failed.items():
            self._move(self.parts[ref], self._intake.stop(self.parts[ref], "commit_failed", error))
        if final:
            for ref in outcome.refused:
                self._move(self.parts[ref], self._intake.stop(self.parts[ref], "commit_refused"))

    def _write_manifest(self) -> None:
        if self.settings.dry_run:
            return
        try:
            stored = [(part.report(), part.writer.stored) for part in self.parts.values()]
            self.report.manifest = write_manifest(self.store, self.run_id, stored)
        except KafkaBeatError as exc:
            self._fail_run(
                "the objects are stored and committed, but the manifest could not be "
                f"written: {exc}"
            )

    def _fail_run(self, message: str) -> None:
        self.report.errors.append(message)
        self.report.status = "failed"
        log.error(message)

    def _finish_report(self) -> None:
        if self.budget.stopping:  # also when it came after consuming ended: the grace bounded it
            self.report.stop_reason = "signal"
            for part in self.parts.values():  # the summary counts what the grace let it store
                unstored = part.writer.unstored_records
                part.records -= unstored
                self.report.records -= unstored
        self.report.partitions = [part.report() for part in self.parts.values()]
        if self.report.errors or any(part.status in FAILED for part in self.parts.values()):
            self.report.status = "failed"


def run(settings: Settings, budget: Budget | None = None, run_id: str | None = None) -> RunReport:
    """Build the store and the consumer, carry one run, and always close the consumer.

    Raises KafkaBeatError only for what stops the run before it consumes anything (an
    unreachable broker, a bucket that does not exist); every later failure is in the report.
    With KAFKA_BEAT_METRICS_FILE set, the file is rewritten either way.
    """
    from handler.observe.metrics import write_prometheus
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
        source = open_source(settings)
        try:
            report = Collector(settings, source, store, budget, run_id=run_id).run()
        finally:
            source.close()
        return report
    except KafkaBeatError as exc:
        report = RunReport(
            run_id=run_id,
            destination=settings.destination,
            kafka_client=settings.kafka_client,
            status="failed",
        )
        report.errors.append(str(exc))
        raise
    finally:
        if settings.metrics_file and report is not None:
            write_prometheus(settings.metrics_file, report, settings.group_id)
