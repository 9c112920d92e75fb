"""Failpoints: named steps of a run where a fault-injection test makes the process fail on
purpose, to prove that a crash or an error at exactly that step loses and duplicates nothing.

`KAFKA_BEAT_FAILPOINT=STEP[:N[:ACTION]]` acts the Nth time (default 1st) the run reaches STEP:
`kill` (SIGKILL itself, the default), `stop` (SIGSTOP itself until a SIGCONT, to play a paused
writer), `error` (raise a TransientError there, to play a failing store or commit) or `term`
(SIGTERM itself and go on, to play a scheduler stopping the run at exactly that step).
Unset, every check is one attribute comparison.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import IO

from handler.errors import TransientError

STEPS = (
    "after_open",
    "before_store",
    "after_claim",
    "after_dead_letters",
    "mid_upload",
    "after_store",
    "before_commit",
    "after_commit",
)
ACTIONS = ("kill", "stop", "error", "term")


def parse(spec: str) -> tuple[str, int, str]:
    """Split `STEP[:N[:ACTION]]`, or raise ValueError naming the valid steps and actions."""
    step, _, rest = spec.partition(":")
    count_text, _, action = rest.partition(":")
    if step not in STEPS:
        raise ValueError(f"unknown step '{step}'; valid steps: {', '.join(STEPS)}")
    if count_text and not count_text.isdigit():
        raise ValueError(f"'{count_text}' is not a count; write STEP:N, e.g. after_store:2")
    action = action or "kill"
    if action not in ACTIONS:
        raise ValueError(f"unknown action '{action}'; valid actions: {', '.join(ACTIONS)}")
    return step, int(count_text or 1), action


class Failpoints:
    def __init__(self, spec: str | None) -> None:
        self._step, self._remaining, self._action = parse(spec) if spec else ("", 0, "kill")
        self._lock = threading.Lock()  # uploads reach their steps on the upload threads

    def reach(self, step: str) -> None:
        if step != self._step:
            return
        with self._lock:
            self._remaining -= 1
            if self._remaining != 0:
                return
        if self._action == "error":
            raise TransientError(f"failpoint {step}: injected failure")
        if self._action == "stop":
            # To this thread: a stop sent to the process may be taken by another thread, and
            # until that one runs, this one would go on past the failpoint (on an upload
            # thread, to the very claim the test means to hold back).
            signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)
            return
        if self._action == "term":
            # To the process, as a scheduler sends it: the main thread's handler takes it,
            # and the step goes on (on an upload thread, the upload is then in flight).
            os.kill(os.getpid(), signal.SIGTERM)
            return
        os.kill(os.getpid(), signal.SIGKILL)  # fatal: every thread dies at once

    def wrap_body(self, body: IO[bytes]) -> IO[bytes]:
        """The body to upload; with `mid_upload` armed, a reader that fails halfway through."""
        if self._step != "mid_upload":
            return body
        return _Tripwire(body, lambda: self.reach("mid_upload"))  # type: ignore[return-value]


class _Tripwire:
    """Reads through to the body and trips after the first chunk has gone out."""

    def __init__(self, body: IO[bytes], trip: Callable[[], None]) -> None:
        self._body = body
        self._trip = trip
        self._sent = 0

    def read(self, size: int = -1) -> bytes:
        if self._sent:
            self._trip()
        chunk = self._body.read(size)
        self._sent += len(chunk)
        return chunk

    def __getattr__(self, name: str) -> object:
        return getattr(self._body, name)
