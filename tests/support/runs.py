"""Runs of Kafka Beat as separate processes, the way a scheduler starts them, so that tests
can kill, pause and overlap them for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def environment(**settings: Any) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_BEAT_")}
    clean["PYTHONPATH"] = str(ROOT)
    for name, value in settings.items():
        if value is not None:
            clean[f"KAFKA_BEAT_{name.upper()}"] = str(value)
    return clean


def start(cwd: Path, **settings: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "handler"],
        env=environment(**settings),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(
    process: subprocess.Popen[str], timeout: float = 180
) -> tuple[int, dict[str, Any] | None, str]:
    """Wait for the run; its exit code, its summary (None if it died before printing one)."""
    stdout, stderr = process.communicate(timeout=timeout)
    lines = stdout.strip().splitlines()
    return process.returncode, (json.loads(lines[-1]) if lines else None), stderr


def run_to_completion(cwd: Path, **settings: Any) -> dict[str, Any]:
    code, summary, stderr = finish(start(cwd, **settings))
    assert code == 0 and summary is not None, f"exit {code}: {stderr[-3000:]}"
    return summary


def catch_up(cwd: Path, max_runs: int = 10, **settings: Any) -> list[dict[str, Any]]:
    """Rerun until a run finds nothing left to store."""
    summaries = []
    for _ in range(max_runs):
        summary = run_to_completion(cwd, **settings)
        summaries.append(summary)
        if summary["records"] == 0 and summary["stop_reason"] == "caught_up":
            return summaries
    raise AssertionError(f"not caught up after {max_runs} runs: {summaries[-1]}")


def wait_until_stopped(process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Block until the process has stopped itself (SIGSTOP at a failpoint)."""
    deadline = time.monotonic() + timeout
    status = Path(f"/proc/{process.pid}/status")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the run exited ({process.returncode}) instead of pausing")
        state = next(line for line in status.read_text().splitlines() if line.startswith("State"))
        if "T" in state.split()[1]:
            return
        time.sleep(0.05)
    raise AssertionError("the run did not reach its failpoint")
