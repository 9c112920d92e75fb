"""The run's budget: records and seconds, measured on a monotonic clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Budget:
    """How much a run may still consume. The end offsets seen at start are the third limit,
    kept per partition by the run itself."""

    max_records: int | None = None
    max_seconds: float | None = None
    clock: Callable[[], float] = time.monotonic
    records_taken: int = 0
    tail_seconds: float = 0.0
    """Kept back from the time budget for what follows consuming: storing the open objects
    and committing (the run estimates it as it goes, `Collector._reserve_tail`)."""
    _started: float = field(init=False)

    def __post_init__(self) -> None:
        self._started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self._started

    def seconds_left(self) -> float | None:
        if self.max_seconds is None:
            return None
        return max(0.0, self.max_seconds - self.tail_seconds - self.elapsed())

    def records_left(self) -> int | None:
        if self.max_records is None:
            return None
        return max(0, self.max_records - self.records_taken)

    def take(self, count: int) -> None:
        self.records_taken += count

    def exhausted(self) -> str | None:
        """Why the run must stop consuming now, or None while budget remains."""
        if self.records_left() == 0:
            return "max_records"
        if self.seconds_left() == 0.0:
            return "max_seconds"
        return None
