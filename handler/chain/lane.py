"""One partition's upload lane: its sealed objects stored on the upload pool one after another,
in chain order, and their outcomes handed back in that order.

As getsentry/arroyo's RunTaskInThreads: a deque of futures, finished work taken from the front
only. Each upload waits for the one before it and skips when that one did not store, so nothing
is stored past a failed or lost object; the lane then answers with the failed (or lost)
outcome, counting the records of the uploads dropped behind it.

A wait for the oldest upload ends early when the pool says the time for storing is over (a
stop's grace, `UploadPool.wait_for`): what is still uploading then stays in the lane, unsettled,
and the chain position never moves past it.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from dataclasses import replace

from handler.chain.outcomes import Outcome, Step
from handler.chain.storing import ObjectStorer, StoreJob
from handler.chain.uploads import UploadPool


class UploadLane:
    def __init__(self, pool: UploadPool, storer: ObjectStorer) -> None:
        self._pool = pool
        self._storer = storer
        self._jobs: deque[tuple[Future[Outcome], int]] = deque()
        """Uploads queued on the pool, oldest first, with their records."""

    def __len__(self) -> int:
        """Uploads whose outcome has not been handed back yet."""
        return len(self._jobs)

    @property
    def records(self) -> int:
        """Records in the uploads whose outcome has not been handed back yet."""
        return sum(records for _, records in self._jobs)

    def submit(self, job: StoreJob) -> None:
        previous = self._jobs[-1][0] if self._jobs else None
        self._jobs.append((self._pool.submit(self._store_after, previous, job), job.sealed.records))

    def _store_after(self, previous: Future[Outcome] | None, job: StoreJob) -> Outcome:
        """An upload job: store once the one before it stored, never past one that did not."""
        if previous is not None and previous.result().step is not Step.STORED:
            job.close()
            sealed = job.sealed
            return Outcome(Step.NOTHING, sealed.start, sealed.records, key=sealed.key)
        return self._storer.store_object(job)

    def finished(self, wait_until: int | None = None) -> list[Outcome]:
        """The outcomes of finished uploads, in chain order; with `wait_until`, first wait
        until at most that many are in flight. An upload that did not store ends the list:
        the ones behind it never touched the store and are dropped, its outcome counting
        their records too."""
        outcomes = []
        while self._jobs:
            job, _ = self._jobs[0]
            if not job.done():
                if wait_until is None or len(self._jobs) <= wait_until:
                    break
                if not self._pool.wait_for(job):
                    break  # abandoned: the grace for storing is over
            self._jobs.popleft()
            outcome = job.result()  # a bug in the job (not a store failure) ends the run here
            if outcome.step is Step.STORED:
                outcomes.append(outcome)
                continue
            dropped = outcome.records
            for later, records in self._jobs:
                if self._pool.wait_for(later):
                    later.result()
                else:
                    later.cancel()  # abandoned; one already running skips by itself
                dropped += records
            self._jobs.clear()
            outcomes.append(replace(outcome, records=dropped))
            break
        return outcomes
