"""Run one collection now: here (`python -m handler` with the settings in the environment or
./.env), or by invoking the deployed Lambda function. Prints the run summary (one JSON line) on
stdout and exits with the run's exit code (README: 0 done, 1 the run failed, 2 a configuration
or usage error, …); a Lambda function that cannot be invoked is 2, a failed invocation 1.

On a terminal, a local run shows a live progress bar on stderr: records stored against the lag
at start (read with `python -m handler status --json` before the run), the rate, and the time
left; warnings and errors print above it. Elsewhere the run's JSON logs pass through untouched.

Ctrl-C (or SIGTERM) is handed to the run, which stops cleanly within its grace and prints its
summary (exit 130 or 143); a second one makes it exit at once. The run has a process group of
its own, so that a terminal's Ctrl-C reaches it once, through this script, not twice.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any

EXIT_FAILED = 1
EXIT_USAGE = 2
_REDRAW_SECONDS = 0.5


def _event(arguments: argparse.Namespace) -> dict[str, Any]:
    fields = {
        "max_records": arguments.max_records,
        "max_seconds": arguments.max_seconds,
        "topics": arguments.topics,
        "partitions": arguments.partitions,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _handler_flags(event: dict[str, Any]) -> list[str]:
    flags = []
    for name, value in event.items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags


def _env_overrides(event: dict[str, Any]) -> dict[str, str]:
    """The flags as settings, for `status`, which reads the environment only."""
    names = {"topics": "KAFKA_BEAT_TOPICS", "partitions": "KAFKA_BEAT_PARTITIONS"}
    return {names[k]: str(v) for k, v in event.items() if k in names}


def lag_at_start(event: dict[str, Any]) -> int | None:
    """Records between the group's committed offsets and the end offsets, or None if unknown.
    A run may start past the committed offset (from storage), so this is an upper bound."""
    result = subprocess.run(
        [sys.executable, "-m", "handler", "status", "--json"],
        env={**os.environ, **_env_overrides(event)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        return None
    try:
        return int(json.loads(result.stdout)["totals"]["lag"])
    except (ValueError, KeyError, TypeError):
        return None


class ProgressBar:
    """One line on a terminal, redrawn in place."""

    def __init__(self, out: IO[str], total: int | None, budget_seconds: float | None) -> None:
        self.out = out
        self.total = total
        self.budget_seconds = budget_seconds
        self.started = time.monotonic()
        self.stored = 0
        self._lock = threading.Lock()
        self._shown = False

    def add(self, records: int) -> None:
        with self._lock:
            self.stored += records
            self._draw()

    def note(self, line: str) -> None:
        """Print a line above the bar."""
        with self._lock:
            self._clear()
            self.out.write(line.rstrip("\n") + "\n")
            self._draw()

    def tick(self) -> None:
        with self._lock:
            self._draw()

    def close(self) -> None:
        with self._lock:
            self._draw()
            if self._shown:
                self.out.write("\n")
                self.out.flush()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.stored / elapsed
        parts = []
        if self.total:
            share = min(self.stored / self.total, 1.0)
            width = 24
            filled = int(share * width)
            parts.append(f"[{'#' * filled}{'.' * (width - filled)}] {share:4.0%}")
            parts.append(f"{self.stored:,} / {self.total:,} records")
        else:
            parts.append(f"{self.stored:,} records")
        parts.append(f"{rate:,.0f}/s")
        left = []
        if self.total and rate > 0:
            left.append(max(self.total - self.stored, 0) / rate)
        if self.budget_seconds is not None:
            left.append(max(self.budget_seconds - elapsed, 0.0))
        if left:
            parts.append(f"{_duration(min(left))} left")
        parts.append(f"{_duration(elapsed)} elapsed")
        return " · ".join(parts)

    def _clear(self) -> None:
        if self._shown:
            self.out.write("\r\033[K")

    def _draw(self) -> None:
        columns = shutil.get_terminal_size((100, 20)).columns
        self._clear()
        self.out.write(self.line()[: columns - 1])
        self.out.flush()
        self._shown = True


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _follow_logs(stream: IO[str], bar: ProgressBar | None) -> None:
    for line in stream:
        if bar is None:
            sys.stderr.write(line)
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            bar.note(line)
            continue
        if entry.get("message") == "stored object":
            bar.add(int(entry.get("records", 0)))
        elif entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            bar.note(f"{entry['level']}: {entry.get('message', '')}")


def run_locally(event: dict[str, Any], progress: bool) -> int:
    bar = None
    if progress:
        bar = ProgressBar(sys.stderr, lag_at_start(event), event.get("max_seconds"))
        if bar.total is not None and event.get("max_records"):
            bar.total = min(bar.total, int(event["max_records"]))
    process = subprocess.Popen(
        [sys.executable, "-m", "handler", *_handler_flags(event)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    assert process.stdout is not None and process.stderr is not None
    stops = _hand_stops_to(process)
    follower = threading.Thread(target=_follow_logs, args=(process.stderr, bar), daemon=True)
    follower.start()
    noted = False
    while process.poll() is None:
        if bar is not None:
            if stops and not noted:
                bar.note("stopping: storing what fits the grace, then committing (again: at once)")
                noted = True
            bar.tick()
        time.sleep(_REDRAW_SECONDS)
    follower.join()
    if bar is not None:
        bar.close()
    output = process.stdout.read()
    sys.stdout.write(output)
    sys.stdout.flush()
    return process.returncode


def _hand_stops_to(process: subprocess.Popen[str]) -> list[int]:
    """Pass SIGINT and SIGTERM on to the run: the first stops it cleanly, a second at once.
    The signals passed on, for the caller to note (a handler must not take the bar's lock)."""
    stops: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        stops.append(signum)
        process.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return stops


def invoke_lambda(function: str, region: str | None, event: dict[str, Any], progress: bool) -> int:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    # One attempt: a retried invocation would start a second run. The read timeout outlasts
    # Lambda's 15-minute maximum.
    config = Config(read_timeout=960, connect_timeout=10, retries={"total_max_attempts": 1})
    client = boto3.session.Session(region_name=region).client("lambda", config=config)
    done = threading.Event()
    if progress:
        threading.Thread(target=_waiting, args=(function, done), daemon=True).start()
    try:
        answer = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=json.dumps(event).encode(),
        )
    except ClientError as exc:
        return _invoke_refused(exc, function, client.meta.region_name)
    except NoCredentialsError:
        print(
            "trigger: no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except BotoCoreError as exc:
        print(f"trigger: could not invoke {function}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        done.set()
    payload = answer["Payload"].read().decode()
    if answer.get("FunctionError"):
        tail = base64.b64decode(answer.get("LogResult", "")).decode(errors="replace")
        sys.stderr.write(tail)
        try:
            message = json.loads(payload).get("errorMessage", payload)
        except ValueError:
            message = payload
        print(f"trigger: the run in {function} failed: {message}", file=sys.stderr)
        return EXIT_FAILED
    print(payload)
    return 0


def _invoke_refused(exc: Any, function: str, region: str) -> int:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ResourceNotFoundException":
        print(
            f"trigger: there is no Lambda function '{function}' in {region}: check the name "
            "(the stack's FunctionName output, shown by infra/aws/deploy) and the region "
            "(--region or AWS_REGION)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if code in ("AccessDeniedException", "AccessDenied"):
        print(
            f"trigger: not allowed to invoke '{function}': grant lambda:InvokeFunction on it "
            "to these credentials",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print(f"trigger: Lambda refused to invoke '{function}': {exc}", file=sys.stderr)
    return EXIT_FAILED


def _waiting(function: str, done: threading.Event) -> None:
    started = time.monotonic()
    while not done.wait(_REDRAW_SECONDS):
        elapsed = _duration(time.monotonic() - started)
        sys.stderr.write(f"\r\033[Kwaiting for {function} … {elapsed}")
        sys.stderr.flush()
    sys.stderr.write("\r\033[K")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/trigger",
        description="Run one collection now, here or in the deployed Lambda function, and print "
        "its summary. Settings come from the environment (or ./.env) as for python -m handler.",
    )
    parser.add_argument("--function", help="invoke this Lambda function (name or ARN) instead")
    parser.add_argument("--region", help="the function's AWS region (default: AWS configuration)")
    parser.add_argument("--max-records", type=int, help="record budget of this run")
    parser.add_argument("--max-seconds", type=float, help="time budget of this run")
    parser.add_argument("--topics", help="topics, comma-separated")
    parser.add_argument("--partitions", help="explicit partitions, e.g. auth:0-3")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    arguments = parser.parse_args(argv)
    progress = sys.stderr.isatty() and not arguments.no_progress
    event = _event(arguments)
    try:
        if arguments.function:
            return invoke_lambda(arguments.function, arguments.region, event, progress)
        return run_locally(event, progress)
    except KeyboardInterrupt:  # before the run started (reading the lag), or waiting for Lambda
        print("trigger: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
