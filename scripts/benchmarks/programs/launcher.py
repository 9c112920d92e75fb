"""Runs one command at a time for the benchmark and reports the kernel's figures for it.

Run as a script (`python launcher.py`, by benchmarks.processes.Launcher), with nothing but the
standard library so that it stays a bare interpreter: a child's peak RSS starts at the
high-water mark of the address space it was forked from. Reads one job a line on stdin (JSON:
command, env, cwd, timeout, and the files for the child's stdout and stderr) and answers each
with one JSON line on stdout: returncode, spawned_at, seconds, cpu_seconds, peak_rss_kib.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

# Not typing.TYPE_CHECKING: importing typing would grow the bare interpreter (contextlib and
# the rest come with subprocess anyway).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def run(job: dict[str, Any]) -> dict[str, Any]:
    with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        spawned_at = time.time()
        started = time.perf_counter()
        child = subprocess.Popen(
            job["command"],
            env=job["env"],
            cwd=job["cwd"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        reaped = threading.Event()

        def overtime() -> None:
            if not reaped.is_set():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)

        timer = threading.Timer(job["timeout"], overtime)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            reaped.set()
            timer.cancel()
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": child.returncode,
        "spawned_at": spawned_at,
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_kib": usage.ru_maxrss,
    }


for line in sys.stdin:
    print(json.dumps(run(json.loads(line))), flush=True)
