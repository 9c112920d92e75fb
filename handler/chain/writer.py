"""The chain writer: the only code that moves a partition's chain position.

At each position, in this order:

1. Resolve what stands there (`resolution.py`). The position record first; with none, an
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

Steps 3 to 5 are store I/O (`storing.py`), on the upload pool's lane (`lane.py`) while the next
object fills, or here for a repair and the first object after accepted data loss. The position
never moves backwards: an attempt raises, since it would store records twice. Every step
answers with an `Outcome`; the caller moves its consumer by `resume_at`.

Over 300 lines because it is the one owner of the position: every step that moves it (resolve,
open, store, apply, skip) is here, and the I/O of each step is in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from handler.chain.builder import ObjectBuilder, Room
from handler.chain.checkpoints import read_checkpoint
from handler.chain.config import ChainConfig, encoder_for
from handler.chain.lane import UploadLane
from handler.chain.outcomes import Outcome, Step
from handler.chain.positions import PositionRecord, Shape
from handler.chain.resolution import legacy_object, standing_at
from handler.chain.storing import Gaps, ObjectStorer, StoreJob
from handler.config.values import PartitionRef
from handler.errors import ChainError
from handler.failpoints import Failpoints
from handler.format.bodies import ObjectFormat
from handler.format.envelope import Encoded, Encoder
from handler.format.layout import dead_letters_key, object_key
from handler.format.native import Run
from handler.observe.logs import get_logger
from handler.record import Record
from handler.stores.base import Store

log = get_logger()
# Dead letters are rare and small next to the data: a fixed, small memory share each.
_COMPANION_SPOOL_BYTES = 256 * 1024


@dataclass
class ChainWriter:
    ref: PartitionRef
    store: Store
    config: ChainConfig
    run_id: str
    failpoints: Failpoints
    _position: int
    gaps: Gaps = ()
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
    _storer: ObjectStorer = field(init=False)
    _lane: UploadLane | None = field(init=False)

    def __post_init__(self) -> None:
        self._head = self._position
        self._storer = ObjectStorer(self.ref, self.store, self.config, self.run_id, self.failpoints)
        uploads = self.config.uploads
        self._lane = UploadLane(uploads, self._storer) if uploads is not None else None

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

    @property
    def uploading(self) -> int:
        """Objects handed to the upload pool whose outcome is not yet applied."""
        return len(self._lane) if self._lane is not None else 0

    @property
    def unstored_records(self) -> int:
        """Records taken into the open object and the uploads not yet confirmed."""
        open_records = self.builder.records if self.builder is not None else 0
        return open_records + (self._lane.records if self._lane is not None else 0)

    @property
    def objects_to_store(self) -> int:
        """The open object, if any, and the uploads in flight."""
        return (self.builder is not None) + self.uploading

    @property
    def holding(self) -> bool:
        """Whether anything is open, being repaired or uploading: a close has work to do."""
        return self.builder is not None or self.repair is not None or self.uploading > 0

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
        if self.uploading:
            return Outcome(Step.FREE, self._head)
        if self.repair is not None:
            return Outcome(Step.REPAIR, self._position)
        if self._resolved_at == self._position:
            return Outcome(Step.FREE, self._position)
        standing = standing_at(self.store, self.ref, self._position)
        if standing.step is Step.FREE:
            self._resolved_at = self._position
        elif standing.step is Step.REPAIR:
            assert standing.found is not None
            # The encoder first: a repair this run cannot encode is never begun.
            if standing.found.shape != self.config.shape:
                self._repair_encoder = encoder_for(standing.found.shape, self.config.schemas)
            self.repair = standing.found
        else:
            return self._adopt(str(standing.key), standing.resume_at, standing.records)
        return standing

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
        link = None
        if not self.uploading:
            link = legacy_object(self.store, self.config, self.ref, self._position, event_time)
        if link is not None:
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
        topic, partition = self.ref
        extension = self.config.format.extension
        key = object_key(self.store.prefix, topic, partition, self._head, event_time, extension)
        self._start_builder(key, event_time, spool_bytes)
        return Outcome(Step.OPENED, self._head)

    def _new_builder(self, key: str, event_time: int, spool_bytes: int) -> ObjectBuilder:
        """An empty object at the position, in the format its key names, its body encoded
        under the formats of the records going in (a repair's recorded ones)."""
        chosen: ObjectFormat = self.config.format_for_key(key)
        shape = self.shape
        body = chosen.body(
            spool_bytes,
            shape.key_format,  # type: ignore[arg-type]
            shape.value_format,  # type: ignore[arg-type]
            self.config.schemas,
        )
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

    def room(self) -> Room | None:
        """What still fits in the open object; None where records cannot simply be appended
        (nothing open, a repair, or an object without its first record)."""
        builder = self.builder
        if builder is None or self.repair is not None or builder.records == 0:
            return None
        return self.config.rotation.room(builder, self.companion)

    def ends_before(self, offset: int, encoded: Encoded) -> bool:
        """Whether the open object (or the repair) is complete before the record at `offset`."""
        if self.repair is not None:
            return offset >= self.repair.next
        builder = self.builder
        return builder is not None and self.config.rotation.starts_new_object(
            builder, encoded.event_time, len(encoded.line), self.companion, encoded
        )

    def add(self, record: Record, encoded: Encoded) -> None:
        assert self.builder is not None, "open an object first"
        self.builder.add(record, encoded)

    def add_run(self, native: Any, run: Run) -> None:
        """Append a run of records the native encoder took from its batch `native`."""
        assert self.builder is not None, "open an object first"
        self.builder.add_run(native, run)

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
        if self._lane is None or repair is not None or self.gap_from is not None:
            if self.uploading:
                raise ChainError("a repair or a gap is stored with uploads still in flight")
            job = StoreJob(sealed, letters, repair, self._gaps_with(sealed.start), self.gap_from)
            return self._apply(self._storer.store_object(job))
        self._lane.submit(StoreJob(sealed, letters, None, self.gaps, None))
        self._head = sealed.next
        return Outcome(Step.QUEUED, sealed.next, sealed.records, key=sealed.key)

    def completed(self, wait_until: int | None = None) -> list[Outcome]:
        """The outcomes of queued uploads that finished, in chain order, applied to the chain
        position; with `wait_until`, first wait until at most that many are in flight."""
        if self._lane is None:
            return []
        return [
            self._apply(finished if finished.step is Step.STORED else self._drop_open(finished))
            for finished in self._lane.finished(wait_until)
        ]

    def _drop_open(self, unstored: Outcome) -> Outcome:
        """After an upload that did not store, nothing behind it is: the open object is
        dropped with the uploads the lane dropped, and counted with them."""
        dropped = unstored.records + (self.builder.records if self.builder else 0)
        self.discard()
        self._head = self._position
        return replace(unstored, records=dropped)

    def _gaps_with(self, start: int) -> Gaps:
        """The chain's accepted gaps once the object at `start` is stored: with the one it
        closes, if any."""
        if self.gap_from is None:
            return self.gaps
        previous = read_checkpoint(self.store, self.ref.topic, self.ref.partition)
        gaps = [*(previous.gaps if previous else ()), (self.gap_from, start)]
        return tuple(dict.fromkeys(gaps))

    def _apply(self, stored: Outcome) -> Outcome:
        """What the store I/O found, applied to the chain position (on the consuming thread)."""
        if stored.step is Step.FAILED:
            return Outcome(Step.FAILED, self._position, error=stored.error, refused=stored.refused)
        if stored.step is Step.LOST_RACE:
            winner = stored.found
            assert winner is not None
            log.info(
                "another writer claimed this chain position first; ours is dropped",
                extra={"key": winner.key, "start": winner.start, "next": winner.next},
            )
            self._resolved_at = None
            resolved = self.resolve()
            self._head = self._position
            return Outcome(
                Step.LOST_RACE, resolved.resume_at, stored.records, resolved.records, key=winner.key
            )
        if stored.manifest_entry is not None:
            self.stored.append(dict(stored.manifest_entry))
        if stored.gaps != self.gaps or self.gap_from is not None:
            self.gaps, self.gap_from = stored.gaps, None
        self.store_seconds = max(self.store_seconds, stored.seconds)
        self._move_to(stored.resume_at)
        log.info(
            "stored object",
            extra={
                "key": stored.key,
                "records": stored.records,
                "bytes": stored.size,
                "next": stored.resume_at,
                "seconds": round(stored.seconds, 3),
                "uploads_running": stored.uploads_running,
            },
        )
        return stored

    # -- accepted data loss and ending ------------------------------------------------------

    def skip_to(self, log_start: int) -> None:
        """Accepted data loss (on_data_loss=skip): the chain continues at the log start, and
        the gap is recorded with the next object stored."""
        if self.builder is not None or self.uploading:
            raise ChainError("skipping lost data while an object is open would misplace it")
        self.gap_from = self._position
        self._move_to(log_start)

    def abandon(self) -> None:
        """The partition failed here: what is open is dropped and a repair begun forgotten, so
        the run's end never stores its range short."""
        self.discard()
        self.repair, self._repair_encoder, self._resolved_at = None, None, None

    def discard(self) -> None:
        for builder in (self.builder, self.companion):
            if builder is not None:
                builder.discard()
        self.builder = self.companion = None
