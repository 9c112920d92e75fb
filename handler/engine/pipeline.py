"""The worker that compresses off the consuming thread (the pool that uploads is the chain's:
`chain/uploads.py`).

zlib and zstandard release the GIL while they compress, so a chunk of lines compressed by a
worker overlaps the next poll's parsing on the consuming thread. One worker, first in first
out: each object's chunks reach its (stateful) compressor in the order they were written, and
the stored bytes are exactly those of compressing inline. At most `max_queued` chunks wait at
any time, across every partition, so memory stays bounded whatever the backlog: the consuming
thread waits when the worker falls behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class CompressionWorker(ThreadPoolExecutor):
    def __init__(self, max_queued: int = 4) -> None:
        super().__init__(max_workers=1, thread_name_prefix="kafka-beat-compress")
        self._slots = threading.BoundedSemaphore(max_queued)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self._slots.acquire()
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future
