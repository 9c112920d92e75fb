"""Kafka Connect's FileStream sink as a peer: runs the standalone worker (a JVM) until its group
has committed every record and the output file holds them all, then stops it.

Connect never exits on its own at the end of a topic, so this wrapper decides when it is done
and measures the JVM alone (its CPU from /proc when done, its peak RSS and total CPU from
wait4), apart from the wrapper's own polling. Run as a script by benchmarks.connect with one
argument, JSON: command (the JVM's), log, bootstrap, group, topic, file, timeout. Prints one
JSON line: records, payload_bytes, seconds (spawn to done), cpu_seconds (at done),
cpu_seconds_to_exit, peak_rss_kib, exit_seconds, returncode, lag, error.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")
_POLL_SECONDS = 0.1
_STOP_SECONDS = 30.0


def lag(ends: dict[int, int], committed: dict[int, int]) -> int:
    """Records of the topic not yet committed by the group (a partition it has not committed
    counts whole; one already past the end counts nothing)."""
    return sum(max(0, end - committed.get(partition, 0)) for partition, end in ends.items())


class LineCounter:
    """Lines and bytes of a file that only grows, reading each new byte once."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self.lines = 0

    def update(self) -> int:
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                while chunk := handle.read(1 << 20):
                    self._offset += len(chunk)
                    self.lines += chunk.count(b"\n")
        except FileNotFoundError:
            pass
        return self.lines

    @property
    def bytes(self) -> int:
        return self._offset


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _reap(pid: int, timeout: float | None) -> tuple[int, Any] | None:
    """(exit code, rusage) of the child once it has exited, waiting up to `timeout` seconds
    (None: as long as it takes); os.wait4 so the kernel's figures are the JVM's alone."""
    deadline = None if timeout is None else time.perf_counter() + timeout
    while True:
        flags = 0 if deadline is None else os.WNOHANG
        pid_done, status, usage = os.wait4(pid, flags)
        if pid_done == pid:
            return os.waitstatus_to_exitcode(status), usage
        if deadline is not None and time.perf_counter() >= deadline:
            return None
        time.sleep(_POLL_SECONDS)


def main(config: dict[str, Any]) -> dict[str, Any]:
    from kafka import KafkaConsumer
    from kafka.admin import KafkaAdminClient
    from kafka.structs import TopicPartition

    topic = config["topic"]
    consumer = KafkaConsumer(bootstrap_servers=config["bootstrap"])
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    ends = {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
    consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=config["bootstrap"])
    records = sum(ends.values())
    output = LineCounter(Path(config["file"]))
    result: dict[str, Any] = {"error": None}
    with open(config["log"], "wb") as log:
        started = time.perf_counter()
        jvm = subprocess.Popen(config["command"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = started + config["timeout"]
        behind = records
        reaped = None
        while time.perf_counter() < deadline and reaped is None:
            time.sleep(_POLL_SECONDS)
            offsets = admin.list_group_offsets({config["group"]: None}).get(config["group"], {})
            behind = lag(ends, {tp.partition: m.offset for tp, m in offsets.items()})
            # Offsets are committed after the sink flushed its file, so the lines are there
            # once the lag is 0; counting them proves it.
            if behind == 0 and output.update() >= records:
                result["seconds"] = time.perf_counter() - started
                result["cpu_seconds"] = cpu_seconds(jvm.pid)
                break
            reaped = _reap(jvm.pid, 0)
        else:
            result["error"] = (
                "Connect exited early" if reaped else f"not done within {config['timeout']:.0f} s"
            ) + f": lag {behind:,}, {output.update():,} of {records:,} lines in the file"
        if reaped is None:
            # os.kill, not Popen.send_signal: that polls, and a poll would reap the JVM before
            # wait4 could read its figures.
            os.kill(jvm.pid, signal.SIGTERM)  # a clean stop, as an operator would
            reaped = _reap(jvm.pid, _STOP_SECONDS)
        if reaped is None:
            os.kill(jvm.pid, signal.SIGKILL)
            reaped = _reap(jvm.pid, None)
        assert reaped is not None
        returncode, usage = reaped
        jvm.returncode = returncode  # reaped here: Popen must not wait for it again
    admin.close()
    output.update()
    result.update(
        {
            "records": output.lines,
            "payload_bytes": output.bytes - output.lines,  # without the newlines it added
            "expected_records": records,
            "cpu_seconds_to_exit": usage.ru_utime + usage.ru_stime,
            "peak_rss_kib": usage.ru_maxrss,
            "exit_seconds": time.perf_counter() - started,
            "returncode": returncode,
            "lag": behind,
        }
    )
    return result


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
