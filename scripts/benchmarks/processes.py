"""Child processes: each measured by the kernel (os.wait4) for CPU time and peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import REPO_ROOT, BenchError
from .services import S3_REGION

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
LAUNCHER = PROGRAMS_DIR / "launcher.py"
"""Spawns and reaps every measured process. Not this process: a child's peak RSS (ru_maxrss)
starts at the high-water mark of the address space it was forked from, so a child of this
process, which grows to hundreds of MB generating payloads, would report at least that. The
launcher stays a bare interpreter, a floor of about 12 MiB."""


@dataclass
class Child:
    returncode: int
    spawned_at: float
    """Wall clock at spawn (time.time()), to place the child's own log times."""
    seconds: float
    """Spawn to exit, measured by this process."""
    cpu_seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str

    def tail(self, lines: int = 15) -> str:
        return "\n".join((self.stderr.strip().splitlines() or ["(no stderr)"])[-lines:])


class Launcher:
    """A small helper process that runs one command at a time and reports the kernel's
    figures for it (os.wait4): CPU seconds and peak RSS of exactly that process."""

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        self.pid: int
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, str(LAUNCHER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self._process.pid

    def run(self, command: Sequence[str], env: dict[str, str], cwd: Path, timeout: float) -> Child:
        out = self._work_dir / "child.out"
        err = self._work_dir / "child.err"
        job = {
            "command": list(command),
            "env": env,
            "cwd": str(cwd),
            "timeout": timeout,
            "stdout": str(out),
            "stderr": str(err),
        }
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(job) + "\n")
            self._process.stdin.flush()
            reply = self._process.stdout.readline()
        if not reply:
            raise BenchError(f"the launcher died (exit {self._process.poll()})")
        result = json.loads(reply)
        return Child(
            returncode=result["returncode"],
            spawned_at=result["spawned_at"],
            seconds=result["seconds"],
            cpu_seconds=result["cpu_seconds"],
            peak_rss_mib=result["peak_rss_kib"] / 1024,  # KiB on Linux
            stdout=out.read_text(encoding="utf-8", errors="replace"),
            stderr=err.read_text(encoding="utf-8", errors="replace"),
        )

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            # A run still going when the benchmark was interrupted: stop the launcher; the run
            # ends on its own once the broker is gone.
            self._process.kill()
            self._process.wait()


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every child: no stray KAFKA_BEAT_* (a run refuses unknown ones),
    this checkout's code, and credentials that only the local moto server accepts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_BEAT_")}
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": S3_REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    env.update(extra or {})
    return env
