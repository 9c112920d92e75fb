"""What each step of the chain writer answers: the caller acts on the outcome, never on a flag.

One type for every step, the store I/O's answers included: an upload thread's outcome is
applied to the chain position by the writer, which answers its caller with the outcome of
that (`writer.py`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from handler.chain.positions import PositionRecord


class Step(enum.Enum):
    FREE = "free"
    """Nothing stands at the position: the run's own object may open there."""
    REPAIR = "repair"
    """A position record names an object its writer never stored: re-read its range."""
    OPENED = "opened"
    QUEUED = "queued"
    """Sealed and handed to the upload pool: the next object opens at its end meanwhile."""
    STORED = "stored"
    ADOPTED = "adopted"
    """An object already stood at the position: the position moved to its `next`."""
    LOST_RACE = "lost_race"
    """Another writer claimed the position first: our object was dropped."""
    FAILED = "failed"
    NOTHING = "nothing"
    """There was nothing to store (no open object, or a repair not yet complete), or an upload
    was skipped because the one before it did not store."""


@dataclass(frozen=True)
class Outcome:
    step: Step
    resume_at: int
    """Where the consumer continues from: records below it are in storage or dropped."""
    records: int = 0
    """Records the step stored or adopted; for a lost race, the records dropped."""
    adopted: int = 0
    """For a lost race: the records of the winner's object, when it was adopted."""
    size: int = 0
    """Bytes stored."""
    late_records: int = 0
    """Records stored in an object of a later hour than their own."""
    unfit: Mapping[str, int] = field(default_factory=dict)
    """Per typed Parquet column: values of the stored records that did not fit its type."""
    dead_letters: int = 0
    """Invalid records this step stored in the range's companion object."""
    key: str | None = None
    error: str | None = None
    refused: bool = False
    """The store refused our identity or permissions (exit 3)."""
    found: PositionRecord | None = None
    """The position record standing at the position: a repair's, or a lost race's winner."""
    manifest_entry: Mapping[str, object] | None = None
    """What the run's manifest records of an object this writer created."""
    gaps: tuple[tuple[int, int], ...] = ()
    """The chain's accepted data-loss gaps once the object is stored."""
    seconds: float = 0.0
    """How long storing took (claim to checkpoint)."""
    uploads_running: int = 0
    """Uploads running on the pool, this one included, when it finished."""
