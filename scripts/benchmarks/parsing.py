"""Reading what the measured programs report: Kafka Beat's run summary, log lines and stored
objects, `python -X importtime`, ConsumerPerformance's table, and the lines a peer wrote."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .processes import Child


def run_summary(child: Child) -> dict[str, Any] | None:
    """The run summary: the last line Kafka Beat prints on stdout."""
    for line in reversed(child.stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            summary = json.loads(line)
            if isinstance(summary, dict) and "records" in summary:
                return summary
    return None


# README's storage layout: data objects `{prefix}/{topic}/dt=…/hour=…/{topic}+{p}+{start:020d}.…`,
# their dead-letter companions the same under `{prefix}/_dead_letter/`, Kafka Beat's own state
# under `{prefix}/_kafka_beat/`; the local directory's temporary files under `.kafka-beat-tmp/`.
_OBJECT_NAME = re.compile(r"\+\d+\+\d{20}\.[^/]+$")
_DEAD_LETTER_FOLDER = "_dead_letter"
_NOT_OBJECTS = {"_kafka_beat", ".kafka-beat-tmp"}


def stored_objects(listing: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Data and dead-letter objects of a destination's (key, size) listing, counted from the
    keys alone, not from what the run says it stored."""
    counts = {"data_objects": 0, "dead_letter_objects": 0, "dead_letter_bytes": 0}
    for key, size in listing:
        parts = key.split("/")
        if _NOT_OBJECTS.intersection(parts) or not _OBJECT_NAME.search(parts[-1]):
            continue
        if _DEAD_LETTER_FOLDER in parts:
            counts["dead_letter_objects"] += 1
            counts["dead_letter_bytes"] += size
        else:
            counts["data_objects"] += 1
    return counts


def first_object_time(stderr: str) -> float | None:
    """Wall-clock time of the first "stored object" log line (millisecond resolution)."""
    for line in stderr.splitlines():
        if '"stored object"' not in line:
            continue
        with contextlib.suppress(ValueError, KeyError):
            return datetime.fromisoformat(json.loads(line)["time"]).timestamp()
    return None


def import_seconds(stderr: str) -> float:
    """Total of the top-level cumulative times that `python -X importtime` prints (nested
    imports are indented and already counted in their parent's cumulative time)."""
    total_us = 0
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            total_us += int(parts[1])
    return total_us / 1e6


def consumer_performance(stdout: str) -> dict[str, float] | None:
    """The header and value line ConsumerPerformance prints, as numbers by column name."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    for index, line in enumerate(lines[:-1]):
        if line.startswith("start.time"):
            names = [name.strip() for name in line.split(",")]
            values = [value.strip() for value in lines[index + 1].split(",")]
            numbers: dict[str, float] = {}
            for name, value in zip(names, values, strict=False):
                with contextlib.suppress(ValueError):
                    numbers[name] = float(value)
            wanted = {"data.consumed.in.nMsg", "fetch.nMsg.sec", "fetch.MB.sec", "fetch.time.ms"}
            return numbers if wanted <= numbers.keys() else None
    return None


def count_lines(path: Path, compressor: str) -> tuple[int, int]:
    """(lines, bytes) of a file a peer wrote, decompressed ("zstd", "gzip"; anything else:
    as it is), streamed so a gigabyte of output needs no gigabyte of memory."""
    with path.open("rb") as raw:
        if compressor == "zstd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            return count_stream_lines(reader)
        if compressor == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                return count_stream_lines(unzipped)
        return count_stream_lines(raw)


def count_stream_lines(stream: IO[bytes] | Any) -> tuple[int, int]:
    lines = size = 0
    while chunk := stream.read(1 << 20):
        lines += chunk.count(b"\n")
        size += len(chunk)
    return lines, size
