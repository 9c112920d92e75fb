"""The chain writer: the only code that moves a partition's chain position.

At each position, in this order:

1. Resolve what stands there. The position record first (`chain/positions.py`); with none, an
   object that a version before position records left at the computed key, under every
   format's and codec's name. An object found is adopted: the position moves to its `next`. A
   position record whose object is missing is repaired: [position, next) is read again, with
   the recorded settings, into the recorded key, in the format its name says — records taken
   for it do not count against the run's record budget, so a small budget can always finish
   what a larger run began.
2. Otherwise an object opens at the position and the run's records go in.
3. Sealed, it is claimed: the position record is created, create-only. Found made by another
   writer, the race is lost: ours is dropped and (1) runs again at the same position.
4. The data object is created, create-only. Found there already, it was stored by this run (a
   retry after a lost response) or by a run repairing this run's claim: it holds this range.
5. The checkpoint is replaced (a hint for lost group offsets); then the position moves.

The position never moves backwards: an attempt raises, since it would store records twice.
Every step answers with an `Outcome`; the caller moves its consumer by `resume_at`.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from handler.chain import positions
from handler.chain.builder import ObjectBuilder, SealedObject
from handler.chain.checkpoints import read_checkpoint, write_checkpoint
from handler.chain.config import ChainConfig, encoder_for
from handler.chain.links import ends_at, object_metadata, read_link
from handler.chain.outcomes import Outcome, Step
from handler.chain.positions import PositionRecord, Shape
from handler.config.values import PartitionRef
from handler.errors import AuthError, ChainError, KafkaBeatError, TransientError
from handler.failpoints import Failpoints
from handler.format.bodies import ObjectFormat
from handler.format.envelope import Encoded, Encoder
from handler.format.layout import META_DEAD_LETTERS, META_GAP_FROM, dead_letters_key, object_key
from handler.format.reading import stored_records
from handler.observe.logs import get_logger
from handler.record import Record
from handler.stores.base import PutOutcome, Store

log = get_logger()
# Dead letters are rare and small next to the data: a fixed, small memory share each.
_COMPANION_SPOOL_BYTES = 256 * 1024


@dataclass
class _Stored:
    """What one object's store I/O found; the writer applies it on the consuming thread."""

    step: Step
    """STORED, LOST_RACE, FAILED, or NOTHING (skipped: the upload before it did not store)."""
    start: int
    records: int
    key: str
    next: int = 0
    size: int = 0
    late_records: int = 0
    unfit: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    entry: dict[str, object] | None = None
    """The manifest entry, where this writer created the object."""
    gaps: tuple[tuple[int, int], ...] = ()
    winner: PositionRecord | None = None
    error: str | None = None
    refused: bool = False
    seconds: float = 0.0
    uploads_running: int = 0
    """Uploads running on the pool, this one included, when it finished."""


@dataclass
class ChainWriter:
    ref: PartitionRef
    store: Store
    config: ChainConfig
    run_id: str
    failpoints: Failpoints
    _position: int
    gaps: tuple[tuple[int, int], ...] = ()
    """Accepted data-loss gaps [from, to) known for this chain, kept in the checkpoint."""
    builder: ObjectBuilder | None = None
    companion: ObjectBuilder | None = None
    """The open object's dead letters: the invalid records of its range."""
    repair: PositionRecord | None = None
    """The position record being repaired at the position, if any."""
    gap_from: int | None = None
    """Where accepted data loss began; recorded with the next object stored."""
    stored: list[dict[str, object]] = field(default_factory=list)
    """What this writer stored, for the run's manifest."""
    store_seconds: float = 0.0
    """The longest one object took to store in this run (claim to checkpoint)."""
    _resolved_at: int | None = None
    _repair_encoder: Encoder | None = None
    _head: int = -1
    """Where the next object opens: the position, or the end of the last one queued."""
    _lane: deque[tuple[Future[_Stored], int]] = field(default_factory=deque)
    """Uploads queued on the pool, oldest first, with their records."""

    def __post_init__(self) -> None:
        self._head = self._position

    @property
    def position(self) -> int:
        """The chain position: everything before it is in storage."""
        return self._position

    @property
    def head(self) -> int:
        """Where the next object opens; past the position while uploads are queued."""
        return self._head

    @property
    def encoder(self) -> Encoder:
        """The encoder for the records at the position: a repair's recorded one, or the run's."""
        return self._repair_encoder or self.config.encoder

    @property
    def shape(self) -> Shape:
        return self.repair.shape if self.repair is not None else self.config.shape

    def _move_to(self, next_position: int) -> None:
        if next_position < self._position:
            raise ChainError(
                f"{self.ref.topic}:{self.ref.partition}: the chain position would move back "
                f"from {self._position} to {next_position}; the run stops rather than store "
                "records twice. This is a bug: please report it with the run's log"
            )
        self._position = next_position
        self._head = max(self._head, next_position)
        self.repair = None
        self._repair_encoder = None
        self._resolved_at = None

    # -- 1. what stands at the position -----------------------------------------------------

    def resolve(self) -> Outcome:
        """FREE, REPAIR, or ADOPTED (the position moved) by the position record at it.

        With uploads queued, the next object opens at their end unresolved: its claim, made
        only once they are stored, finds whatever stands there then."""
        if self._lane:
            return Outcome(Step.FREE, self._head)
        if self.repair is not None:
            return Outcome(Step.REPAIR, self._position)
        if self._resolved_at == self._position:
            return Outcome(Step.FREE, self._position)
        record = positions.read_position(
            self.store, self.ref.topic, self.ref.partition, self._position
        )
        if record is None:
            self._resolved_at = self._position
            return Outcome(Step.FREE, self._position)
        head = self.store.head(record.key)
        if head is None:
            log.info(
                "a position record names an object that was never stored; reading its range again",
                extra={"key": record.key, "start": record.start, "next": record.next},
            )
            self.repair = record
            if record.shape != self.config.shape:
                self._repair_encoder = encoder_for(record.shape)
            return Outcome(Step.REPAIR, self._position)
        if not ends_at(head, record.next):
            raise ChainError(
                f"object '{record.key}' ends elsewhere than its position record says "
                f"({record.next}); the run stops. Inspect both (python -m handler decode)"
            )
        return self._adopt(record.key, record.next, record.records)

    def _adopt(self, key: str, next_position: int, records: int) -> Outcome:
        log.info(
            "adopted an object already stored at this chain position",
            extra={"key": key, "start": self._position, "next": next_position},
        )
        self._move_to(next_position)
        return Outcome(Step.ADOPTED, next_position, records, key=key)

    # -- 2. opening -------------------------------------------------------------------------

    def open(self, event_time: int, spool_bytes: int) -> Outcome:
        """Open an object at the position (OPENED), or adopt one a version before position
        records left there under any format's or codec's name (ADOPTED). Call after
        `resolve`."""
        if self.repair is not None:
            self._start_builder(self.repair.key, event_time, spool_bytes)
            return Outcome(Step.OPENED, self._position)
        topic, partition = self.ref
        for extension in self.config.extensions() if not self._lane else ():
            key = object_key(
                self.store.prefix, topic, partition, self._position, event_time, extension
            )
            link = read_link(self.store, key, self._position, topic, partition)
            if link is None:
                continue
            # Stored since `resolve` found the position free: by a writer that claimed it
            # first, whose position record says where its range ends. The object alone cannot
            # always tell (a store without metadata reads its last line, not the dead letters
            # after it), so the record decides; only a version before records has none.
            self._resolved_at = None
            resolved = self.resolve()
            if resolved.step is Step.ADOPTED:
                return resolved
            if resolved.step is Step.REPAIR:
                return self.open(event_time, spool_bytes)
            return self._adopt(link.key, link.next, link.records)
        key = object_key(
            self.store.prefix,
            topic,
            partition,
            self._head,
            event_time,
            self.config.format.extension,
        )
        self._start_builder(key, event_time, spool_bytes)
        return Outcome(Step.OPENED, self._head)

    def _new_builder(self, key: str, event_time: int, spool_bytes: int) -> ObjectBuilder:
        """An empty object at the position, in the format its key names, its body encoded
        under the formats of the records going in (a repair's recorded ones)."""
        chosen: ObjectFormat = self.config.format_for_key(key)
        shape = self.shape
        body = chosen.body(spool_bytes, shape.key_format, shape.value_format)  # type: ignore[arg-type]
        return ObjectBuilder(
            self.ref.topic,
            self.ref.partition,
            self._head,
            key,
            event_time,
            body,
            chosen.content_type,
        )

    def _start_builder(self, key: str, event_time: int, spool_bytes: int) -> None:
        self.builder = self._new_builder(key, event_time, spool_bytes)
        self.failpoints.reach("after_open")

    def ends_before(self, offset: int, event_time: int, line_size: int) -> bool:
        """Whether the open object (or the repair) is complete before the record at `offset`."""
        if self.repair is not None:
            return offset >= self.repair.next
        builder = self.builder
        return builder is not None and self.config.rotation.starts_new_object(
            builder, event_time, line_size, self.companion
        )

    def add(self, record: Record, encoded: Encoded) -> None:
        assert self.builder is not None, "open an object first"
        self.builder.add(record, encoded)

    def add_dead_letter(self, record: Record, encoded: Encoded) -> None:
        """Take an invalid record into the open object's range; its line goes to the range's
        one companion object, stored (create-only) just before the data object."""
        builder = self.builder
        assert builder is not None, "open an object first"
        builder.cover(record.offset)
        if self.companion is None:
            self.companion = self._new_builder(
                dead_letters_key(builder.key), encoded.event_time, _COMPANION_SPOOL_BYTES
            )
        self.companion.add(record, encoded)

    # -- 3-5. storing -----------------------------------------------------------------------

    def flush(self, fetched_to: int) -> Outcome:
        """Store what is open; a repair only once the consumer has read its whole range."""
        if self.repair is not None and fetched_to < self.repair.next:
            self.discard()
            return Outcome(Step.NOTHING, self._head)
        return self.store_open()

    def store_open(self) -> Outcome:
        """Seal what is open and store it: QUEUED on the upload pool when there is one (the
        next object opens at its end meanwhile; `completed` answers for it later), otherwise
        stored here. A repair or the first object after accepted data loss is always stored
        here, with no upload in flight before it."""
        builder, self.builder = self.builder, None
        companion, self.companion = self.companion, None
        repair = self.repair
        if repair is not None and (builder is None or builder.range_end == builder.start):
            # Every record of the range is gone (compacted away): an object without lines
            # still stands at the recorded key, so storage says where the chain goes on.
            if builder is None:
                self._start_builder(repair.key, 0, 0)
                builder, self.builder = self.builder, None
            assert builder is not None
            builder.cover(repair.next - 1)
        if builder is None or builder.range_end == builder.start:
            if builder is not None:
                builder.discard()
            return Outcome(Step.NOTHING, self._head)
        sealed = builder.seal()
        letters = companion.seal() if companion is not None else None
        if repair is not None:
            sealed.next = repair.next  # the recorded range, even where its tail was compacted
        uploads = self.config.uploads
        if uploads is None or repair is not None or self.gap_from is not None:
            if self._lane:
                raise ChainError("a repair or a gap is stored with uploads still in flight")
            return self._apply(self._store(sealed, letters, repair, self._gaps_with(sealed)))
        previous = self._lane[-1][0] if self._lane else None
        job = uploads.submit(self._store_after, previous, sealed, letters)
        self._lane.append((job, sealed.records))
        self._head = sealed.next
        return Outcome(Step.QUEUED, sealed.next, sealed.records, key=sealed.key)

    @property
    def uploading(self) -> int:
        """Objects handed to the upload pool whose outcome is not yet applied."""
        return len(self._lane)

    def completed(self, wait_until: int | None = None) -> list[Outcome]:
        """The outcomes of queued uploads that finished, in chain order, applied to the chain
        position; with `wait_until`, first wait until at most that many are in flight."""
        outcomes = []
        while self._lane:
            job, _ = self._lane[0]
            if not job.done() and (wait_until is None or len(self._lane) <= wait_until):
                break
            self._lane.popleft()
            stored = job.result()  # a bug in the job (not a store failure) ends the run here
            if stored.step is Step.STORED:
                outcomes.append(self._apply(stored))
                continue
            # The uploads queued behind it never touched the store (each waits for the one
            # before and skips when it did not store): drop them with the open object.
            dropped = stored.records
            for later, records in self._lane:
                later.result()
                dropped += records
            self._lane.clear()
            if self.builder is not None:
                dropped += self.builder.records
            self.discard()
            self._head = self._position
            outcomes.append(self._apply(replace(stored, records=dropped)))
            break
        return outcomes

    def _store_after(
        self, previous: Future[_Stored] | None, sealed: SealedObject, letters: SealedObject | None
    ) -> _Stored:
        """An upload job: store once the one before it stored, never past one that did not."""
        if previous is not None and previous.result().step is not Step.STORED:
            for body in (sealed, letters):
                if body is not None:
                    body.close()
            return _Stored(Step.NOTHING, sealed.start, sealed.records, sealed.key)
        return self._store(sealed, letters, None, self.gaps)

    def _gaps_with(self, sealed: SealedObject) -> tuple[tuple[int, int], ...]:
        """The chain's accepted gaps once `sealed` is stored: with the one it closes, if any."""
        if self.gap_from is None:
            return self.gaps
        previous = read_checkpoint(self.store, self.ref.topic, self.ref.partition)
        gaps = [*(previous.gaps if previous else ()), (self.gap_from, sealed.start)]
        return tuple(dict.fromkeys(gaps))

    def _store(
        self,
        sealed: SealedObject,
        letters: SealedObject | None,
        repair: PositionRecord | None,
        gaps: tuple[tuple[int, int], ...],
    ) -> _Stored:
        """Claim, companion, data object, checkpoint: store I/O only, safe on an upload
        thread; what it found is applied to the writer by `_apply`, on the consuming
        thread."""
        started = time.monotonic()
        try:
            stored = self._store_steps(sealed, letters, repair, gaps)
        except KafkaBeatError as exc:
            stored = _Stored(
                Step.FAILED,
                sealed.start,
                sealed.records,
                sealed.key,
                error=f"storing {sealed.key} failed: {exc}",
                refused=isinstance(exc, AuthError),
            )
        finally:
            for body in (sealed, letters):
                if body is not None:
                    body.close()
        stored.seconds = time.monotonic() - started
        if self.config.uploads is not None:
            stored.uploads_running = self.config.uploads.running
        return stored

    def _store_steps(
        self,
        sealed: SealedObject,
        letters: SealedObject | None,
        repair: PositionRecord | None,
        gaps: tuple[tuple[int, int], ...],
    ) -> _Stored:
        gap_from = repair.gap_from if repair is not None else self.gap_from
        self.failpoints.reach("before_store")
        if repair is None:
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
            if positions.claim(self.store, claimed) is PutOutcome.EXISTS:
                found = positions.read_position(
                    self.store, claimed.topic, claimed.partition, claimed.start
                )
                if found is None:
                    raise TransientError(
                        f"{claimed.topic}:{claimed.partition}: the store reported a position "
                        f"record at {claimed.start} that then could not be read; retry the run"
                    )
                if not found.same_claim(claimed):  # our own is a retry after a lost answer
                    return _Stored(
                        Step.LOST_RACE, sealed.start, sealed.records, found.key, winner=found
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
        return _Stored(
            Step.STORED,
            sealed.start,
            sealed.records,
            sealed.key,
            next=sealed.next,
            size=sealed.content.size
            + (letters.content.size if letters is not None and created_letters else 0),
            late_records=sealed.late_records,
            unfit=sealed.content.unfit,
            dead_letters=created_letters,
            entry=entry,
            gaps=gaps,
        )

    def _apply(self, stored: _Stored) -> Outcome:
        """What an upload found, applied to the chain position (on the consuming thread)."""
        if stored.step is Step.FAILED:
            return Outcome(Step.FAILED, self._position, error=stored.error, refused=stored.refused)
        if stored.step is Step.LOST_RACE:
            assert stored.winner is not None
            log.info(
                "another writer claimed this chain position first; ours is dropped",
                extra={
                    "key": stored.winner.key,
                    "start": stored.winner.start,
                    "next": stored.winner.next,
                },
            )
            self._resolved_at = None
            resolved = self.resolve()
            self._head = self._position
            return Outcome(
                Step.LOST_RACE,
                resolved.resume_at,
                stored.records,
                resolved.records,
                key=stored.winner.key,
            )
        if stored.entry is not None:
            self.stored.append(stored.entry)
        if stored.gaps != self.gaps or self.gap_from is not None:
            self.gaps, self.gap_from = stored.gaps, None
        self.store_seconds = max(self.store_seconds, stored.seconds)
        self._move_to(stored.next)
        log.info(
            "stored object",
            extra={
                "key": stored.key,
                "records": stored.records,
                "bytes": stored.size,
                "next": stored.next,
                "seconds": round(stored.seconds, 3),
                "uploads_running": stored.uploads_running,
            },
        )
        return Outcome(
            Step.STORED,
            stored.next,
            stored.records,
            size=stored.size,
            late_records=stored.late_records,
            unfit=stored.unfit,
            dead_letters=stored.dead_letters,
            key=stored.key,
        )

    def _lines_in(self, key: str) -> int:
        """Records in a stored companion (0 if there is none): only on the rare paths where
        another writer made it."""
        if self.store.head(key) is None:
            return 0
        with self.store.open(key) as raw:
            return sum(1 for _ in stored_records(key, raw))

    def _put(self, sealed: SealedObject, metadata: dict[str, str]) -> PutOutcome:
        return self.store.put_if_absent(
            sealed.key,
            self.failpoints.wrap_body(sealed.content.body),
            sealed.content.size,
            metadata,
            sealed.content_type,
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

    def _checkpoint(self, next_position: int, key: str, gaps: tuple[tuple[int, int], ...]) -> None:
        topic, partition = self.ref
        try:
            write_checkpoint(self.store, topic, partition, next_position, key, self.run_id, gaps)
        except KafkaBeatError as exc:  # a hint only: the chain walk finds the object anyway
            log.warning("could not write the checkpoint", extra={"key": key, "error": str(exc)})

    # -- accepted data loss and ending ------------------------------------------------------

    def skip_to(self, log_start: int) -> None:
        """Accepted data loss (on_data_loss=skip): the chain continues at the log start, and
        the gap is recorded with the next object stored."""
        if self.builder is not None or self._lane:
            raise ChainError("skipping lost data while an object is open would misplace it")
        self.gap_from = self._position
        self._move_to(log_start)

    def discard(self) -> None:
        for builder in (self.builder, self.companion):
            if builder is not None:
                builder.discard()
        self.builder = self.companion = None
