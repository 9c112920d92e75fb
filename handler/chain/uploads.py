"""The pool that stores sealed objects (claim, companion, data, checkpoint) while the run goes
on consuming.

Store requests wait on the network, not the CPU, and release the GIL meanwhile. Order is kept
by the chain writer, not here: each of a partition's uploads waits for the one before it, and
the writer settles them in chain order (`chain/writer.py`). A pool thread only ever waits for
an upload submitted before its own, which has started already (the pool takes work first in,
first out), so the waiting cannot deadlock.

The consuming thread waits for uploads through `wait_for`, a slice at a time, so that a stop
asked for meanwhile (SIGTERM) bounds the wait: once `wait_left` says the time for storing is
over, the uploads still running are abandoned — never settled, so never committed; the process
exits with them unfinished, which the chain's claims make as safe as a crash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")
_WAIT_SLICE_SECONDS = 0.25
"""How often a wait for an upload looks again at the time left for storing."""


def _no_limit() -> float | None:
    return None


class UploadPool(ThreadPoolExecutor):
    def __init__(self, threads: int, wait_left: Callable[[], float | None] = _no_limit) -> None:
        super().__init__(max_workers=threads, thread_name_prefix="kafka-beat-upload")
        self._lock = threading.Lock()
        self._running = 0
        self._wait_left = wait_left
        """Seconds the consuming thread may still wait for uploads (None: no limit)."""

    @property
    def running(self) -> int:
        """Uploads running now, on every partition."""
        return self._running

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        def counted() -> T:
            with self._lock:
                self._running += 1
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self._running -= 1

        return super().submit(counted)

    def wait_for(self, future: Future[Any]) -> bool:
        """Wait until `future` is done; False when the time for storing ran out first (a stop's
        grace), and the upload is abandoned."""
        while not future.done():
            left = self._wait_left()
            if left is not None and left <= 0:
                return False
            wait([future], _WAIT_SLICE_SECONDS if left is None else min(left, _WAIT_SLICE_SECONDS))
        return True
