"""What each step of the chain writer answers: the caller acts on the outcome, never on a flag."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


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
    """There was nothing to store (no open object, or a repair not yet complete)."""


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
