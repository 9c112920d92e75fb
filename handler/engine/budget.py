"""The run's budget: records and seconds, measured on a monotonic clock; and a stop asked for
(SIGTERM, Ctrl-C), which ends the budget at once and leaves a grace to store and commit in."""

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
    _grace_ends: float | None = field(default=None, init=False)
    """When a stop was asked for: the clock time its grace ends."""

    def __post_init__(self) -> None:
        self._started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self._started

    def seconds_left(self) -> float | None:
        """Seconds left to consume in (None: no time budget); none once a stop was asked."""
        if self._grace_ends is not None:
            return 0.0
        if self.max_seconds is None:
            return None
        return max(0.0, self.max_seconds - self.tail_seconds - self.elapsed())

    def records_left(self) -> int | None:
        """Records the run may still take (None: no record budget); none once a stop was
        asked, so a batch being taken ends at the next record."""
        if self._grace_ends is not None:
            return 0
        if self.max_records is None:
            return None
        return max(0, self.max_records - self.records_taken)

    def take(self, count: int) -> None:
        self.records_taken += count

    def stop(self, grace_seconds: float) -> None:
        """A stop was asked for (the first SIGTERM or SIGINT): the budget has just run out,
        and what follows consuming — storing the open objects, committing, leaving the group —
        has `grace_seconds` from now. A second call keeps the first grace. Safe to call from a
        signal handler: it only sets a field."""
        if self._grace_ends is None:
            self._grace_ends = self.clock() + grace_seconds

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for."""
        return self._grace_ends is not None

    def grace_left(self) -> float | None:
        """Seconds left of the stop's grace (None: no stop was asked for)."""
        if self._grace_ends is None:
            return None
        return max(0.0, self._grace_ends - self.clock())

    def exhausted(self) -> str | None:
        """Why the run must stop consuming now, or None while budget remains."""
        if self._grace_ends is not None:
            return "signal"
        if self.records_left() == 0:
            return "max_records"
        if self.seconds_left() == 0.0:
            return "max_seconds"
        return None
