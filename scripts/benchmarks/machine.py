"""The machine: what it is (for the table's heading), and how much of its CPU processes outside
the benchmark use while a run is measured."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import kafka_broker


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    java = subprocess.run(
        [kafka_broker.java_executable(), "-version"],
        capture_output=True,
        text=True,
        check=False,
    ).stderr.splitlines()
    from kafka.version import __version__ as kafka_python_version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kafka_python": kafka_python_version,
        "kafka": kafka_broker.kafka_version(),
        "java": java[0] if java else "unknown",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# -- Interference: the machine is shared (tests of other work may run), so every sample records
# the CPU that processes outside the benchmark used while it ran.

_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = values
    return (user + nice + system + irq + softirq) / _TICK


def _cpu_seconds_of(pid: int, with_children: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # of reaped children: the measured runs
    return ticks / _TICK


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (a broker given with --bootstrap), if visible."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(proc.name)
    return None


@dataclass
class Watch:
    """The benchmark's own processes: this one, the launcher (with the runs it reaped), the
    broker and moto. Machine CPU beyond theirs is someone else's."""

    pids: list[tuple[int, bool]]

    def snapshot(self) -> tuple[float, float, float]:
        own = sum(_cpu_seconds_of(pid, children) for pid, children in self.pids)
        return time.perf_counter(), _machine_busy_seconds(), own

    def settle(self, limit: float, quiet_cores: float = 0.25) -> float:
        """Wait, up to `limit` seconds, for a 2-second window in which other processes use
        less than `quiet_cores`; returns the seconds waited."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            before = self.snapshot()
            time.sleep(2.0)
            if self.others_cores(before, self.snapshot()) < quiet_cores:
                break
        return time.perf_counter() - started

    @staticmethod
    def others_cores(
        before: tuple[float, float, float], after: tuple[float, float, float]
    ) -> float:
        wall = after[0] - before[0]
        others = (after[1] - before[1]) - (after[2] - before[2])
        return round(max(0.0, others) / wall, 3) if wall > 0 else 0.0
