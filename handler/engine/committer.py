"""Committing chain positions to the group: retried, never backwards, failures reported."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from handler.config.values import PartitionRef
from handler.engine.partition import NOT_COMMITTING, PartitionState
from handler.errors import AuthError, KafkaBeatError, retrying
from handler.failpoints import Failpoints
from handler.kafka.source import CommitRejected, Source
from handler.observe.logs import get_logger

log = get_logger()


@dataclass
class CommitOutcome:
    failed: dict[PartitionRef, str] = field(default_factory=dict)
    """Partitions whose commit failed for good, with the error."""
    refused: list[PartitionRef] = field(default_factory=list)
    """Partitions the group would not take a commit for (another member owns them)."""


class Committer:
    def __init__(self, source: Source, attempts: int, run_id: str, failpoints: Failpoints) -> None:
        self._source = source
        self._attempts = attempts
        self._run_id = run_id
        self._failpoints = failpoints
        self.longest_seconds = 0.0
        """The longest a commit of this run took."""

    def commit(self, parts: dict[PartitionRef, PartitionState]) -> CommitOutcome:
        """Commit every partition whose chain position moved; a failed partition still
        commits the objects it stored before failing."""
        outcome = CommitOutcome()
        pending = {
            ref: part.position
            for ref, part in parts.items()
            if part.status not in NOT_COMMITTING and part.position != part.committed
        }
        self._drop_rewinds(parts, pending)
        if not pending:
            return outcome
        started = time.monotonic()
        try:
            self._failpoints.reach("before_commit")
            retrying(self._attempts, max_backoff_seconds=5)(
                self._source.commit, pending, self._run_id
            )
            self.longest_seconds = max(self.longest_seconds, time.monotonic() - started)
        except CommitRejected as exc:
            # Not a loss: the objects are stored, and whoever runs next adopts them.
            log.warning("the group refused the commit", extra={"error": str(exc)})
            outcome.refused.extend(pending)
            return outcome
        except AuthError:
            raise  # refused permissions end the run (exit 3), not just these partitions
        except KafkaBeatError as exc:
            for ref, offset in pending.items():
                outcome.failed[ref] = (
                    f"committing {ref.topic}:{ref.partition} at {offset} failed: {exc}"
                )
            return outcome
        self._failpoints.reach("after_commit")
        for ref, offset in pending.items():
            parts[ref].committed = parts[ref].committed_by_run = offset
        return outcome

    def _drop_rewinds(
        self, parts: dict[PartitionRef, PartitionState], pending: dict[PartitionRef, int]
    ) -> None:
        """Never move the group's offset backwards: where this run adopted another writer's
        objects, that writer may have committed further than this run's budget reached."""
        for ref in [ref for ref in pending if parts[ref].adopted_records]:
            current = self._source.committed(ref)
            if current is not None and current >= pending[ref]:
                del pending[ref]
                parts[ref].committed = current
