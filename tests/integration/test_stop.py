"""Stopped when asked: SIGTERM (a scheduler) or Ctrl-C (a person) ends a run within its grace —
consuming stops, the open objects that fit are stored, what is stored is committed, the group
is left so a waiting member is given the partitions at once, and the summary says so — and a
second signal ends it at once. Each case ends in a full reconciliation.

Runs are processes (`python -m handler`), signalled for real: by the test, by a failpoint that
SIGTERMs the run itself at an exact step (`STEP:N:term`), or by a terminal's Ctrl-C."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from handler.format.layout import parse_object_name
from handler.format.reading import stored_records as records_in
from handler.stores.base import Store
from handler.stores.local import LocalStore
from handler.stores.s3 import S3Store
from tests.integration.test_collect import end_offsets, log_lines
from tests.support import runs
from tests.support.destinations import destination_for
from tests.support.fault_proxy import proxied
from tests.support.reconcile import committed, produce, reconcile, stored_records

GRACE = 6.0
"""The stop grace of these runs (KAFKA_BEAT_STOP_GRACE_SECONDS)."""
SESSION = 30
"""The group session of these runs: a member that did not leave would hold its partitions
this long, so a waiting member given them within 2 s proves the stopped run left."""
FORMATS = {"jsonl": {}, "parquet": {"format": "parquet", "compression": "zstd"}}
PY, CK = "kafka-python", "confluent"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def destination(request):
    """Where runs store, by kind; (settings, store)."""
    return destination_for(request.param, request, "stop")


@dataclass
class Watched:
    """A run as a process, its output read as it comes, with when each line came."""

    process: subprocess.Popen[str]
    log: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    exited_at: float | None = None

    @classmethod
    def start(cls, cwd: Path, **settings: Any) -> Watched:
        watched = cls(runs.start(cwd, **settings))
        for target in (watched._read_log, watched._read_stdout, watched._wait):
            threading.Thread(target=target, daemon=True).start()
        return watched

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"message": line.rstrip("\n"), "level": "TEXT"}
            self.log.append((time.monotonic(), entry))

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self.stdout.extend(self.process.stdout)

    def _wait(self) -> None:
        self.process.wait()
        self.exited_at = time.monotonic()

    def when(self, message: str, timeout: float = 60) -> float:
        """When the first log line starting with `message` came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for moment, entry in list(self.log):
                if str(entry.get("message", "")).startswith(message):
                    return moment
            if self.exited_at is not None and not self._reading():
                break
            time.sleep(0.02)
        raise AssertionError(f"no log line {message!r}: {self.text()[-3000:]}")

    def _reading(self) -> bool:
        return self.process.stderr is not None and not self.process.stderr.closed

    def finish(self, timeout: float = 120) -> tuple[int, dict[str, Any] | None]:
        deadline = time.monotonic() + timeout
        while self.exited_at is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.exited_at is not None, "the run did not exit"
        time.sleep(0.2)  # the readers take the last lines
        summary = json.loads(self.stdout[-1]) if self.stdout else None
        return self.process.returncode, summary

    def text(self) -> str:
        """The log, a line each: time, level, message and what it names (for failures)."""
        lines = []
        for _, entry in self.log:
            named = {k: v for k, v in entry.items() if k not in ("time", "level", "run_id")}
            message = named.pop("message", "")
            lines.append(f"{str(entry.get('time'))[11:23]} {entry.get('level')} {message} {named}")
        return "\n".join(lines)

    def stored_after(self, moment: float) -> set[int]:
        """Partitions with an object stored after `moment`."""
        return {
            parsed[1]
            for at, entry in self.log
            if at > moment and entry.get("message") == "stored object"
            if (parsed := parse_object_name(str(entry["key"]))) is not None
        }


class WaitingMember:
    """A member of the group that joins on cue, and says when it holds every partition."""

    def __init__(self, settings: dict[str, Any], partitions: int) -> None:
        values = {name: value for name, value in settings.items() if value is not None}
        values["topics"] = [settings["topics"]]
        values["bootstrap_servers"] = [settings["bootstrap_servers"]]
        member = ["-m", "tests.support.group_member", json.dumps(values)]
        self.process = subprocess.Popen(
            [sys.executable, *member, "--waiting", str(partitions)],
            cwd=ROOT,
            env=runs.environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        self.assigned: tuple[float, str] | None = None
        self.partitions = partitions

    def join(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("join\n")
        self.process.stdin.flush()
        threading.Thread(target=self._wait_for_assignment, daemon=True).start()

    def _wait_for_assignment(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        self.assigned = (time.monotonic(), line)

    def assigned_within(self, exited_at: float, seconds: float) -> float:
        deadline = exited_at + 60
        while self.assigned is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.assigned is not None, "the waiting member was never given the partitions"
        moment, line = self.assigned
        assert line == f"assigned {self.partitions}", line
        waited = moment - exited_at
        assert waited < seconds, f"given the partitions {waited:.1f}s after the stopped run ended"
        return waited

    def leave(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


def stopped_cleanly(
    code: int, summary: dict[str, Any] | None, store: Store, admin: Any, group: str, topic: str
) -> dict[int, int]:
    """What a stopped run must say and have done: exit 143, its summary `signal` and `ok`, every
    object it lists stored and holding exactly [start, end) of its partition, and the group's
    offsets where the summary says it committed them — everything it stored. Its end offsets."""
    assert code == 128 + signal.SIGTERM, code
    assert summary is not None, "no summary"
    assert (summary["stop_reason"], summary["status"]) == ("signal", "ok"), summary["errors"]
    offsets = committed(admin, group)
    ends = {}
    listed = stored = 0
    for part in summary["partitions"]:
        number, start, end = part["partition"], part["start_offset"], part["end_offset"]
        ends[number] = end
        held: list[int] = []
        for key in part["objects"]:
            with store.open(key) as raw:
                held.extend(record.offset for record in records_in(key, raw))
        assert held == list(range(start, end)), (number, start, end, held[:3], held[-3:])
        # Committed up to where it stored (a partition new to the group is pinned at its start).
        assert part["committed"] == end or (end == start and part["committed"] is None), part
        assert offsets.get((topic, number), 0) == end, (number, offsets)
        listed += len(part["objects"])
        stored += len(held)
    assert (summary["objects"], summary["records"]) == (listed, stored)
    return ends


def caught_up(cwd: Path, ends: dict[int, int], adopted: bool = False, **settings: Any) -> None:
    """The next run: starts where the stopped one ended, reading nothing it stored again (and,
    unless it had uploads abandoned, adopting nothing)."""
    summary = runs.run_to_completion(cwd, **settings)
    for part in summary["partitions"]:
        stopped_at = ends.get(part["partition"], 0)
        if adopted:  # past what it adopted where the stopped run's upload was abandoned
            assert part["start_offset"] >= stopped_at, part
        else:
            assert (part["start_offset"], part["adopted_records"]) == (stopped_at, 0), part


def reconciled(store: Store, produced: dict, admin: Any, group: str) -> None:
    reconcile(produced, stored_records(store, store.prefix))
    assert committed(admin, group) == end_offsets(produced)


def run_settings(
    bootstrap: str, topic: str, target: dict[str, Any], client: str, mode: str, fmt: str
) -> dict[str, Any]:
    picked = {"topics": topic} if mode == "group" else {"partitions": f"{topic}:0-3"}
    return dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        kafka_client=client,
        session_timeout_seconds=SESSION,
        stop_grace_seconds=GRACE,
        max_object_records=100,
        **picked,
        **FORMATS[fmt],
        **target,
    )


def log_entry(run: Watched, message: str) -> dict[str, Any]:
    return next(entry for _, entry in run.log if str(entry.get("message")).startswith(message))


@pytest.mark.parametrize(
    ("kafka_client", "mode", "object_format"),
    [(PY, "group", "jsonl"), (CK, "group", "parquet")],
)
def test_sigterm_while_consuming_with_uploads_in_flight_on_several_partitions(
    kafka_client,
    mode,
    object_format,
    topic_factory,
    producer,
    bootstrap,
    bucket_factory,
    s3_server,
    s3_client,
    tmp_path,
    admin,
) -> None:
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(2000, 4))
    bucket = bucket_factory()
    store = S3Store(s3_client, bucket, "stop")
    # Each request 50 ms longer, as over a network: uploads of every partition in flight.
    with proxied(s3_server.port, delay_seconds=0.05) as proxy:
        target = {"destination": f"s3://{bucket}/stop", "s3_endpoint_url": proxy.endpoint}
        settings = run_settings(bootstrap, topic, target, kafka_client, mode, object_format)
        member = WaitingMember(settings, 4) if mode == "group" else None
        # The 8th claim SIGTERMs the run from its upload thread: that upload is in flight.
        run = Watched.start(tmp_path, failpoint="after_claim:8:term", **settings)
        asked = run.when("asked to stop")
        if member:
            member.join()
        code, summary = run.finish()

        assert run.exited_at is not None and run.exited_at - asked < GRACE + 1
        stop = log_entry(run, "asked to stop")
        assert stop["uploading"] >= 2 and stop["partitions_storing"] >= 2, run.text()
        ends = stopped_cleanly(code, summary, store, admin, f"g-{topic}", topic)
        if member:
            member.assigned_within(run.exited_at, 2.0)
            member.leave()
    caught_up(tmp_path, ends, **{**settings, "s3_endpoint_url": s3_server.endpoint})
    reconciled(store, produced, admin, f"g-{topic}")


# With S3 above and the local store below: both clients, both modes, both formats, every store.
@pytest.mark.parametrize(
    ("destination", "kafka_client", "mode", "object_format"),
    [
        ("gcs", PY, "assign", "parquet"),
        ("azure", CK, "assign", "jsonl"),
        ("seaweedfs", PY, "assign", "jsonl"),
    ],
    indirect=["destination"],
)
def test_sigterm_on_every_store(
    destination,
    kafka_client,
    mode,
    object_format,
    topic_factory,
    producer,
    bootstrap,
    tmp_path,
    admin,
) -> None:
    target, store = destination
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(2000, 4))
    settings = run_settings(bootstrap, topic, target, kafka_client, mode, object_format)

    run = Watched.start(tmp_path, failpoint="after_store:6:term", **settings)
    asked = run.when("asked to stop")
    code, summary = run.finish()

    assert run.exited_at is not None and run.exited_at - asked < GRACE + 1
    ends = stopped_cleanly(code, summary, store, admin, f"g-{topic}", topic)
    caught_up(tmp_path, ends, **settings)
    reconciled(store, produced, admin, f"g-{topic}")


def test_sigterm_during_a_slow_store_abandons_what_does_not_fit_the_grace(
    topic_factory,
    producer,
    bootstrap,
    bucket_factory,
    s3_server,
    s3_client,
    tmp_path,
    admin,
) -> None:
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(2000, 4))
    bucket = bucket_factory()
    store = S3Store(s3_client, bucket, "stop")
    grace = 4.0  # 2 s of it for storing: less than the uploads in flight take
    # Every request 0.4 s longer: an object (claim, data, checkpoint) takes over a second.
    with proxied(s3_server.port, delay_seconds=0.4) as proxy:
        target = {"destination": f"s3://{bucket}/stop", "s3_endpoint_url": proxy.endpoint}
        settings = run_settings(bootstrap, topic, target, PY, "group", "jsonl")
        settings["stop_grace_seconds"] = grace
        member = WaitingMember(settings, 4)
        run = Watched.start(tmp_path, **settings)
        run.when("stored object")
        signalled = time.monotonic()
        run.process.send_signal(signal.SIGTERM)
        member.join()
        code, summary = run.finish()

        assert run.exited_at is not None and run.exited_at - signalled < grace + 1, run.text()
        abandoned = log_entry(run, "the stop's grace left no time")
        assert abandoned["objects"] >= 1, run.text()
        ends = stopped_cleanly(code, summary, store, admin, f"g-{topic}", topic)
        member.assigned_within(run.exited_at, 2.0)
        member.leave()
    # What was abandoned is adopted (stored before the exit) or rebuilt (only claimed).
    caught_up(tmp_path, ends, adopted=True, **{**settings, "s3_endpoint_url": s3_server.endpoint})
    reconciled(store, produced, admin, f"g-{topic}")


@pytest.mark.parametrize("kafka_client", [PY, CK])
def test_sigterm_during_the_commit(
    kafka_client, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(2000, 4))
    target = {"destination": str(tmp_path / "out")}
    store = LocalStore(tmp_path / "out")
    settings = run_settings(bootstrap, topic, target, kafka_client, "group", "parquet")
    metrics = tmp_path / "kafka_beat.prom"
    member = WaitingMember(settings, 4)

    # SIGTERM on the way into the second commit: that commit goes on, then the stop.
    run = Watched.start(
        tmp_path, failpoint="before_commit:2:term", metrics_file=metrics, **settings
    )
    asked = run.when("asked to stop")
    member.join()
    code, summary = run.finish()

    assert run.exited_at is not None and run.exited_at - asked < GRACE + 1, run.text()
    ends = stopped_cleanly(code, summary, store, admin, f"g-{topic}", topic)
    figures = dict(
        line.rsplit(" ", 1) for line in metrics.read_text().splitlines() if line[0] != "#"
    )
    group = f'{{group="g-{topic}"}}'
    assert figures[f"kafka_beat_last_run_stopped{group}"] == "1"
    assert figures[f"kafka_beat_last_run_failed{group}"] == "0"
    member.assigned_within(run.exited_at, 2.0)
    member.leave()
    caught_up(tmp_path, ends, **settings)
    reconciled(store, produced, admin, f"g-{topic}")


def test_a_second_sigterm_during_the_grace_exits_at_once(
    topic_factory, producer, bootstrap, bucket_factory, s3_server, s3_client, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(2000, 4))
    bucket = bucket_factory()
    store = S3Store(s3_client, bucket, "stop")
    with proxied(s3_server.port, delay_seconds=0.2) as proxy:
        target = {"destination": f"s3://{bucket}/stop", "s3_endpoint_url": proxy.endpoint}
        settings = run_settings(bootstrap, topic, target, PY, "assign", "jsonl")
        settings["stop_grace_seconds"] = 60  # a grace the run would take its time over
        run = Watched.start(tmp_path, **settings)
        run.when("stored object")
        run.process.send_signal(signal.SIGTERM)
        run.when("asked to stop")
        second = time.monotonic()
        run.process.send_signal(signal.SIGTERM)
        code, summary = run.finish()

    assert run.exited_at is not None and run.exited_at - second < 1.0
    assert (code, summary) == (128 + signal.SIGTERM, None)
    assert log_entry(run, "a second SIGTERM: exiting at once")["level"] == "WARNING"
    assert "Traceback" not in run.text()
    runs.run_to_completion(tmp_path, **{**settings, "s3_endpoint_url": s3_server.endpoint})
    reconciled(store, produced, admin, f"g-{topic}")


def on_a_terminal(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[Any, int]:
    """`command` started with a terminal of its own as its controlling terminal (stdin and
    stderr on it, stdout a pipe), as a person's shell starts it; and the terminal's side."""
    controller, terminal = pty.openpty()

    def take_the_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # in the new session: a Ctrl-C there reaches us

    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
        start_new_session=True,
        preexec_fn=take_the_terminal,  # noqa: PLW1509 - no threads run in the child yet
    )
    os.close(terminal)
    return process, controller


def read_terminal(controller: int, until: str, timeout: float = 60) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while until.encode() not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                seen += os.read(controller, 65536)
            except OSError:  # the other side closed
                break
    return seen.decode(errors="replace")


@pytest.mark.parametrize("command", ["handler", "trigger"])
def test_ctrl_c_on_a_terminal_prints_the_summary_without_a_traceback(
    command,
    topic_factory,
    producer,
    bootstrap,
    bucket_factory,
    s3_server,
    s3_client,
    tmp_path,
    admin,
) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, log_lines(1000, 2))
    bucket = bucket_factory()
    store = S3Store(s3_client, bucket, "stop")
    with proxied(s3_server.port, delay_seconds=0.1) as proxy:
        settings = run_settings(
            bootstrap,
            topic,
            {"destination": f"s3://{bucket}/stop", "s3_endpoint_url": proxy.endpoint},
            PY,
            "group",
            "jsonl",
        )
        argv = {
            "handler": [sys.executable, "-m", "handler"],
            "trigger": [str(ROOT / "scripts" / "trigger"), "--no-progress"],
        }[command]
        process, controller = on_a_terminal(argv, tmp_path, runs.environment(**settings))
        try:
            before = read_terminal(controller, "stored object")
            assert "stored object" in before, before
            os.write(controller, b"\x03")  # Ctrl-C: the terminal sends SIGINT to its job
            stdout, _ = process.communicate(timeout=GRACE + 30)
            after = read_terminal(controller, "\n", timeout=1)
        finally:
            os.close(controller)

    assert process.returncode == 128 + signal.SIGINT, before + after
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert (summary["stop_reason"], summary["status"]) == ("signal", "ok")
    for text in (before, after):
        assert "Traceback" not in text and "KeyboardInterrupt" not in text
    ends = {part["partition"]: part["end_offset"] for part in summary["partitions"]}
    caught_up(tmp_path, ends, **{**settings, "s3_endpoint_url": s3_server.endpoint})
    reconciled(store, produced, admin, f"g-{topic}")
