"""Stopping when asked: SIGTERM (a scheduler) or SIGINT (Ctrl-C) ends a run cleanly within its
grace, `KAFKA_BEAT_STOP_GRACE_SECONDS`.

1. The first signal ends the run's budget at once (`Budget.stop`): the loop stops consuming
   at its next step (a poll returns within half a second), stores the open objects that fit
   the grace, commits what is stored, writes the summary, and the source's close leaves the
   group, so a waiting member is given the partitions at once, not after the session timeout.
2. A second signal exits at once; so does the end of the grace, should the run still be going
   (a store or a broker that does not answer). Either is as safe as a crash: an object claimed
   and not stored is rebuilt from its range by the next run, one stored and not committed is
   adopted; nothing is ever committed past what the store confirmed.
3. A stopped run exits 128 + the signal's number, the code the shells give a process a signal
   ended (143 for SIGTERM, 130 for SIGINT): the scheduler sees the run was stopped, not done,
   while a failure of the data keeps its own code (1, 3), which says more.

The handlers run on the main thread between bytecodes. They only set a field of the budget and
an event; they never log (the main thread may be inside a write to stderr) nor start a thread
(it may hold the lock that starts one): the run logs the stop once its loop sees it, and the
watchdog thread that ends an overrun grace is started with the handlers.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any, NoReturn

from handler.engine.budget import Budget
from handler.errors import EXIT_SIGNAL_BASE

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_code(signum: int) -> int:
    """The exit code of a run that signal `signum` stopped."""
    return EXIT_SIGNAL_BASE + signum


def exit_now(code: int) -> NoReturn:
    """Flush what was written and end the process at once, without waiting for the upload
    threads (one may be in the middle of a request that the grace did not leave time for)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


class StopSignals:
    """While entered, the first SIGTERM or SIGINT stops the run within `grace_seconds` and a
    second one ends the process; a signal the process was started ignoring (`nohup`, a
    background job of a shell) stays ignored."""

    def __init__(self, budget: Budget, grace_seconds: float) -> None:
        self._budget = budget
        self._grace_seconds = grace_seconds
        self.received: int | None = None
        """The first stop signal's number, once one came."""
        self._asked = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                self._previous[signum] = signal.signal(signum, self._handle)
        threading.Thread(target=self._watch, name="kafka-beat-stop", daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None:
            _write_line(
                f"a second {_name(signum)}: exiting at once; the next run adopts or rebuilds "
                "what this one stored but did not commit"
            )
            os._exit(exit_code(signum))
        self.received = signum
        self._budget.stop(self._grace_seconds)
        self._asked.set()

    def _watch(self) -> None:
        """End the process when the grace is over and the run is still going."""
        self._asked.wait()
        while (left := self._budget.grace_left() or 0.0) > 0:
            time.sleep(left)
        assert self.received is not None
        # Not through the logging lock, nor a flush: the main thread may be stuck in a write.
        _write_line(
            f"the stop grace ({self._grace_seconds:g}s) ended before the run did: exiting now; "
            "the next run adopts or rebuilds what this one stored but did not commit. Raise "
            "KAFKA_BEAT_STOP_GRACE_SECONDS, and the scheduler's own grace with it",
            logging.ERROR,
        )
        os._exit(exit_code(self.received))


def _name(signum: int) -> str:
    return signal.Signals(signum).name


def _write_line(message: str, level: int = logging.WARNING) -> None:
    """One log line straight to stderr's file descriptor, as the log handler would format it:
    from a signal handler, where the buffered stream may be in the middle of a write."""
    record = logging.makeLogRecord({"levelname": logging.getLevelName(level), "levelno": level})
    record.msg = message
    handlers = logging.getLogger().handlers
    line = handlers[0].format(record) if handlers else message
    os.write(2, (line + "\n").encode())
