"""The pool that stores sealed objects (claim, companion, data, checkpoint) while the run goes
on consuming.

Store requests wait on the network, not the CPU, and release the GIL meanwhile. Order is kept
by the chain writer, not here: each of a partition's uploads waits for the one before it, and
the writer settles them in chain order (`chain/writer.py`). A pool thread only ever waits for
an upload submitted before its own, which has started already (the pool takes work first in,
first out), so the waiting cannot deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class UploadPool(ThreadPoolExecutor):
    def __init__(self, threads: int) -> None:
        super().__init__(max_workers=threads, thread_name_prefix="kafka-beat-upload")
        self._lock = threading.Lock()
        self._running = 0

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
