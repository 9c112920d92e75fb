"""Steps 3 to 5 of the chain writer (`writer.py`) for one sealed object: the claim, the dead
letters' companion, the data object, the checkpoint.

Store I/O only, and no writer state: it runs on an upload thread as well as on the consuming
thread, and answers with an `Outcome` that the writer applies to the chain position on the
consuming thread. The bodies it is given are closed whatever happens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from handler.chain import positions
from handler.chain.builder import SealedObject
from handler.chain.checkpoints import write_checkpoint
from handler.chain.config import ChainConfig
from handler.chain.links import ends_at, object_metadata
from handler.chain.outcomes import Outcome, Step
from handler.chain.positions import PositionRecord
from handler.config.values import PartitionRef
from handler.errors import AuthError, ChainError, KafkaBeatError, TransientError
from handler.failpoints import Failpoints
from handler.format.layout import META_DEAD_LETTERS, META_GAP_FROM, dead_letters_key
from handler.format.reading import stored_records
from handler.observe.logs import get_logger
from handler.stores.base import NewObject, PutOutcome, Store

log = get_logger()

Gaps = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class StoreJob:
    """One sealed object to store, with what its claim and checkpoint record."""

    sealed: SealedObject
    letters: SealedObject | None
    """The range's dead letters, stored in its companion just before the data object."""
    repair: PositionRecord | None
    """The claim this object repairs (it was made by another writer), or None."""
    gaps: Gaps
    """The chain's accepted data-loss gaps once it is stored, for the checkpoint."""
    gap_from: int | None
    """Where accepted data loss ending at this object began, for its metadata."""

    def close(self) -> None:
        for body in (self.sealed, self.letters):
            if body is not None:
                body.close()


@dataclass(frozen=True)
class ObjectStorer:
    """Stores one partition's sealed objects, each with its claim, companion and checkpoint."""

    ref: PartitionRef
    store: Store
    config: ChainConfig
    run_id: str
    failpoints: Failpoints

    def store_object(self, job: StoreJob) -> Outcome:
        """STORED, LOST_RACE (another writer claimed the position first) or FAILED."""
        started = time.monotonic()
        sealed = job.sealed
        try:
            outcome = self._steps(job)
        except KafkaBeatError as exc:
            outcome = Outcome(
                Step.FAILED,
                sealed.start,
                sealed.records,
                key=sealed.key,
                error=f"storing {sealed.key} failed: {exc}",
                refused=isinstance(exc, AuthError),
            )
        finally:
            job.close()
        uploads = self.config.uploads
        return replace(
            outcome,
            seconds=time.monotonic() - started,
            uploads_running=uploads.running if uploads is not None else 0,
        )

    def _steps(self, job: StoreJob) -> Outcome:
        sealed, letters, repair, gaps = job.sealed, job.letters, job.repair, job.gaps
        gap_from = repair.gap_from if repair is not None else job.gap_from
        self.failpoints.reach("before_store")
        if repair is None:
            lost_to = self._claim(sealed, letters, gap_from)
            if lost_to is not None:
                return Outcome(
                    Step.LOST_RACE, sealed.start, sealed.records, key=lost_to.key, found=lost_to
                )
            self.failpoints.reach("after_claim")
        created_letters = 0
        counted = letters.records if letters else 0
        if letters is not None:
            if self._put(letters, {META_DEAD_LETTERS: str(letters.records)}) is PutOutcome.CREATED:
                created_letters = letters.records
            else:  # stored by the range's first writer, or its repairer: count what it holds
                counted = self._lines_in(letters.key)
            self.failpoints.reach("after_dead_letters")
        elif repair is not None and repair.dead_letters:
            # The first writer stored the companion before it died; compaction has since taken
            # the records from the log, not from storage.
            counted = self._lines_in(dead_letters_key(sealed.key))
        metadata = object_metadata(sealed, self.run_id, counted)
        if gap_from is not None:
            metadata[META_GAP_FROM] = str(gap_from)
        entry = None
        if self._put(sealed, metadata) is PutOutcome.CREATED:
            entry = sealed.manifest_entry(letters if created_letters else None)
        else:
            self._check_found(sealed)
        self.failpoints.reach("after_store")
        self._checkpoint(sealed.next, sealed.key, gaps)
        letters_size = letters.content.size if letters is not None and created_letters else 0
        return Outcome(
            Step.STORED,
            sealed.next,
            sealed.records,
            size=sealed.content.size + letters_size,
            late_records=sealed.late_records,
            unfit=sealed.content.unfit,
            dead_letters=created_letters,
            key=sealed.key,
            manifest_entry=entry,
            gaps=gaps,
        )

    def _claim(
        self, sealed: SealedObject, letters: SealedObject | None, gap_from: int | None
    ) -> PositionRecord | None:
        """Create the position record; the one another writer made first, if it did."""
        claimed = PositionRecord(
            self.ref.topic,
            self.ref.partition,
            sealed.start,
            sealed.key,
            sealed.next,
            sealed.records,
            self.run_id,
            self.config.shape,
            gap_from,
            letters.records if letters else 0,
        )
        if positions.claim(self.store, claimed) is PutOutcome.CREATED:
            return None
        found = positions.read_position(self.store, claimed.topic, claimed.partition, sealed.start)
        if found is None:
            raise TransientError(
                f"{claimed.topic}:{claimed.partition}: the store reported a position record at "
                f"{claimed.start} that then could not be read; retry the run"
            )
        return None if found.same_claim(claimed) else found  # ours: a retry after a lost answer

    def _lines_in(self, key: str) -> int:
        """Records in a stored companion (0 if there is none): only on the rare paths where
        another writer made it."""
        if self.store.head(key) is None:
            return 0
        with self.store.open(key) as raw:
            return sum(1 for _ in stored_records(key, raw))

    def _put(self, sealed: SealedObject, metadata: dict[str, str]) -> PutOutcome:
        body = self.failpoints.wrap_body(sealed.content.body)
        return self.store.put_if_absent(
            NewObject(sealed.key, body, sealed.content.size, metadata, sealed.content_type)
        )

    def _check_found(self, sealed: SealedObject) -> None:
        """The data object of a position this run owns was there already: stored by this run
        (a retry after a lost answer) or by a run repairing this run's claim, either way the
        same range. Another range there means a writer that takes no position records (an
        older version) overlapped: stop rather than guess which records are stored."""
        head = self.store.head(sealed.key)
        if head is None or not ends_at(head, sealed.next):
            raise ChainError(
                f"object '{sealed.key}' at a chain position this run claimed holds another "
                f"range (not ending at {sealed.next}); a run of an older Kafka Beat "
                "overlapped this one. Let one version run, then check with python -m handler "
                "verify"
            )

    def _checkpoint(self, next_position: int, key: str, gaps: Gaps) -> None:
        topic, partition = self.ref
        try:
            write_checkpoint(self.store, topic, partition, next_position, key, self.run_id, gaps)
        except KafkaBeatError as exc:  # a hint only: the chain walk finds the object anyway
            log.warning("could not write the checkpoint", extra={"key": key, "error": str(exc)})
