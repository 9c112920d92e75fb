"""Metrics of a run, with no extra API calls: CloudWatch Embedded Metric Format lines in Lambda,
and a Prometheus text file (node_exporter's textfile-collector convention) for cron and
Kubernetes. Both carry what two alert rules need: when the last run succeeded, and how close
unread data is to expiring (the retention headroom)."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from handler.observe.report import RunReport

NAMESPACE = "KafkaBeat"
_LAST_SUCCESS = "kafka_beat_last_success_timestamp_seconds"


def _figures(report: RunReport) -> dict[str, float]:
    headrooms = [p.retention_headroom for p in report.partitions]
    return {
        "Records": report.records,
        "BytesIn": report.bytes_in,
        "BytesOut": report.bytes_out,
        "Objects": report.objects,
        "InvalidRecords": sum(v for k, v in report.counts.items() if k.startswith("invalid ")),
        "DeadLetters": report.dead_letters,
        "Lag": sum(p.lag for p in report.partitions),
        "LostOffsets": sum(p.lost_offsets for p in report.partitions),
        "RetentionHeadroomRecords": min(headrooms) if headrooms else 0,
        "DurationSeconds": report.duration_seconds,
        "Failed": 0 if report.status == "ok" else 1,
    }


_UNITS = {"BytesIn": "Bytes", "BytesOut": "Bytes", "DurationSeconds": "Seconds"}


def emf_line(report: RunReport, group: str, now: float | None = None) -> str:
    """One CloudWatch EMF document: CloudWatch turns it into metrics from the log alone."""
    figures = _figures(report)
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": int((now or time.time()) * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Group"]],
                    "Metrics": [
                        {"Name": name, "Unit": _UNITS.get(name, "Count")} for name in figures
                    ],
                }
            ],
        },
        "Group": group,
        "RunId": report.run_id,
        **figures,
    }
    return orjson.dumps(document).decode()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def prometheus_text(
    report: RunReport, group: str, previous_success: float | None, now: float
) -> str:
    labels = f'group="{_escape(group)}"'
    lines = []

    def gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{{{sample_labels}}} {value:g}" for sample_labels, value in samples)

    for key, value in _figures(report).items():
        gauge(f"kafka_beat_last_run_{_snake(key)}", f"{key} of the last run", [(labels, value)])
    stopped = 1 if report.stop_reason == "signal" else 0
    gauge(
        "kafka_beat_last_run_stopped",
        "1: the last run was stopped by a signal",
        [(labels, stopped)],
    )
    success = now if report.status == "ok" else previous_success
    gauge("kafka_beat_last_run_timestamp_seconds", "When the last run ended", [(labels, now)])
    if success is not None:
        gauge(_LAST_SUCCESS, "When a run last succeeded", [(labels, success)])
    per_partition = [
        (f'{labels},topic="{_escape(p.topic)}",partition="{p.partition}"', p)
        for p in report.partitions
    ]
    gauge(
        "kafka_beat_lag",
        "Offsets left below the end seen at start",
        [(lab, p.lag) for lab, p in per_partition],
    )
    gauge(
        "kafka_beat_retention_headroom_records",
        "Offsets between the log start and where the group resumes: data expires unread at 0",
        [(lab, p.retention_headroom) for lab, p in per_partition],
    )
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _previous_success(path: Path) -> float | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    match = re.search(rf"^{_LAST_SUCCESS}{{[^}}]*}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def write_prometheus(path: Path, report: RunReport, group: str) -> None:
    """Replace the file atomically (write aside, then rename), as the textfile collector needs;
    a failed run keeps the last success time of the one before."""
    text = prometheus_text(report, group, _previous_success(path), time.time())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=".kafka-beat-", suffix=".prom")
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
