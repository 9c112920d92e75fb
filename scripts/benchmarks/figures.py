"""The issue's targets, drawn from the medians: throughput and CPU against the raw loops, the
peers and the other rows (here), and what a run costs beyond that (overheads: memory, start-up,
Kafka Beat's own cost per record)."""

from __future__ import annotations

from typing import Any

from .overheads import memory_targets, own_cost_targets, startup_targets
from .target import Median, Target, at_least, at_most, median_of, ratio_of, shown
from .workloads import workloads

# Targets from the issue.
TARGET_ZSTD_VS_RAW = 0.8  # log lines and 4 KB documents alike
TARGET_GZIP_VS_RAW = 0.6
TARGET_S3_VS_LOCAL = 0.9  # on kafka-python and on confluent-kafka
TARGET_SLOW_S3_VS_LOCAL = 0.85  # every request 20 ms longer
TARGET_CPU_VS_RAW = 1.4  # CPU seconds of all threads, local zstd
TARGET_PARQUET_VS_JSONL = 0.9  # records/s, local zstd
# confluent-kafka (issue: faster than Connect's FileStream sink, 1M records in 8.9 s, on logs;
# docs 2.5x what kafka-python gives; then ≥ 1.3x Connect's sink and kcat | zstd -1 measured
# beside it, with CPU within 2x confluent-kafka's own raw loop).
TARGET_CONFLUENT_SECONDS_PER_MILLION = {"logs-8p": 8.9}
TARGET_CONFLUENT_VS_KAFKA_PYTHON = {"docs-8p": 2.5}
TARGET_CONFLUENT_CPU_VS_RAW = 2.0
TARGET_CONFLUENT_VS_PEER = 1.3  # records/s
TARGET_CRC_ON_VS_OFF = 0.9
TARGET_HALF_INVALID_VS_VALID = 1.3  # run seconds, same volume, KAFKA_BEAT_VALUE_FORMAT=json
DEAD_LETTER_PAIRS = (("logs-2p-half-invalid", "logs-2p-valid"),)
RATE, CPU = "records_per_second", "cpu_seconds_per_million"


def targets(results: dict[str, Any]) -> list[Target]:
    found: list[Target] = []
    flows = results["workloads"]
    median = median_of(flows)
    unrated = {w.name for w in workloads(1) if not w.rate_targets}
    for name in (n for n in flows if n not in unrated):
        found += _raw_targets(name, median)
        found += _cpu_and_parquet_targets(name, median)
        found += _confluent_targets(name, median)
        found += _encoder_ratios(name, median)
        found += _s3_targets(name, median)
        fast, raw = median(name, "beat-local-gzip-1", RATE), median(name, "raw-crc-on", RATE)
        if fast is not None and raw is not None:
            found.append(
                at_least(f"{name}: local gzip -1 ÷ raw kafka-python", ratio_of(fast, raw), 0.6)
            )
        found += _peer_ratios(name, median)
        java = median(name, "java", RATE)
        if raw is not None and java is not None:
            found.append(shown(f"{name}: raw kafka-python ÷ Java ceiling", ratio_of(raw, java)))
        on, off = raw, median(name, "raw-crc-off", RATE)
        if on is not None and off is not None:
            found.append(
                at_least(f"{name}: raw CRC on ÷ off", ratio_of(on, off), TARGET_CRC_ON_VS_OFF)
            )
    found += memory_targets(flows, median)
    found += _dead_letter_targets(flows, median)
    found += startup_targets(flows, median)
    found += own_cost_targets(flows)
    return found


def _raw_targets(name: str, median: Median) -> list[Target]:
    """Kafka Beat on kafka-python against kafka-python's raw loop, records/s."""
    found = []
    raw = median(name, "raw-crc-on", RATE)
    for codec, goal in (("zstd", TARGET_ZSTD_VS_RAW), ("gzip", TARGET_GZIP_VS_RAW)):
        beat = median(name, f"beat-local-{codec}", RATE)
        if beat is not None and raw is not None:
            title = f"{name}: local {codec} ÷ raw kafka-python"
            found.append(at_least(title, ratio_of(beat, raw), goal))
    return found


def _cpu_and_parquet_targets(name: str, median: Median) -> list[Target]:
    """CPU of all threads against the raw loop; Parquet against JSON lines, both zstd."""
    found: list[Target] = []
    beat_cpu, raw_cpu = median(name, "beat-local-zstd", CPU), median(name, "raw-crc-on", CPU)
    if beat_cpu is not None and raw_cpu is not None:
        found.append(
            at_most(
                f"{name}: CPU s, local zstd ÷ raw kafka-python",
                ratio_of(beat_cpu, raw_cpu),
                TARGET_CPU_VS_RAW,
                f"{beat_cpu} / {raw_cpu} s per 1M",
            )
        )
    jsonl = median(name, "beat-local-zstd", RATE)
    parquet = median(name, "beat-local-parquet-zstd", RATE)
    if parquet is not None and jsonl is not None:
        title = f"{name}: Parquet ÷ JSON lines, local zstd"
        found.append(at_least(title, ratio_of(parquet, jsonl), TARGET_PARQUET_VS_JSONL))
        stored = median(name, "beat-local-parquet-zstd", "bytes_out")
        lines = median(name, "beat-local-zstd", "bytes_out")
        found.append(
            at_most(
                f"{name}: stored bytes, Parquet ÷ JSON lines, zstd",
                ratio_of(stored, lines),
                1.0,
                f"{stored} / {lines}",
            )
        )
    return found


def _confluent_targets(name: str, median: Median) -> list[Target]:
    """Kafka Beat on confluent-kafka (local zstd): its time per million records, its rate
    against Kafka Beat on kafka-python, its CPU against confluent-kafka's raw loop."""
    found: list[Target] = []
    beat = "beat-local-zstd-confluent"
    seconds, records = median(name, beat, "seconds"), median(name, beat, "records")
    goal = TARGET_CONFLUENT_SECONDS_PER_MILLION.get(name)
    if seconds is not None and records:
        per_million = round(seconds * 1_000_000 / records, 2)
        title = f"{name}: Kafka Beat on confluent-kafka, local zstd, run s per 1M records"
        found.append(at_most(title, per_million, goal) if goal else shown(title, per_million))
    ratio = ratio_of(median(name, beat, RATE), median(name, "beat-local-zstd", RATE))
    if ratio is not None:
        title = f"{name}: local zstd, confluent-kafka ÷ kafka-python, records/s"
        goal = TARGET_CONFLUENT_VS_KAFKA_PYTHON.get(name)
        found.append(at_least(title, ratio, goal) if goal else shown(title, ratio))
    beat_cpu, raw_cpu = median(name, beat, CPU), median(name, "raw-confluent", CPU)
    if beat_cpu is not None and raw_cpu is not None:
        found.append(
            at_most(
                f"{name}: CPU s, local zstd on confluent-kafka ÷ its raw loop",
                ratio_of(beat_cpu, raw_cpu),
                TARGET_CONFLUENT_CPU_VS_RAW,
                f"{beat_cpu} / {raw_cpu} s per 1M",
            )
        )
    raw_rate = ratio_of(median(name, beat, RATE), median(name, "raw-confluent", RATE))
    if raw_rate is not None:
        found.append(shown(f"{name}: local zstd ÷ raw confluent-kafka", raw_rate))
    return found


def _encoder_ratios(name: str, median: Median) -> list[Target]:
    """The native encoder (the default row) against the pure-Python one, local zstd on
    kafka-python: records/s and CPU s (no goal)."""
    found = []
    for key, what in ((RATE, "records/s"), (CPU, "CPU s")):
        native, python = (
            median(name, "beat-local-zstd", key),
            median(name, "beat-local-zstd-python", key),
        )
        value = ratio_of(native, python)
        if value is not None:
            title = f"{name}: local zstd, native ÷ Python encoder, {what}"
            found.append(shown(title, value, f"{native} / {python}"))
    return found


def _s3_targets(name: str, median: Median) -> list[Target]:
    """S3 (moto) against the local directory, on each client; and behind the +20 ms proxy."""
    found = []
    for codec, client in (("gzip", ""), ("zstd", ""), ("zstd", "-confluent")):
        s3 = median(name, f"beat-s3-{codec}{client}", RATE)
        local = median(name, f"beat-local-{codec}{client}", RATE)
        if s3 is not None and local is not None:
            on = " on confluent-kafka" if client else ""
            title = f"{name}: S3 ÷ local, {codec}{on}"
            found.append(at_least(title, ratio_of(s3, local), TARGET_S3_VS_LOCAL))
    slow, local = median(name, "beat-s3-zstd-20ms", RATE), median(name, "beat-local-zstd", RATE)
    if slow is not None and local is not None:
        title = f"{name}: S3 +20 ms ÷ local, zstd"
        found.append(at_least(title, ratio_of(slow, local), TARGET_SLOW_S3_VS_LOCAL))
    return found


# Kafka Beat's run against the peer doing the closest job: (beat, peer, peer's name, goal of
# the records/s ratio or None).
PEER_PAIRS = (
    ("beat-local-zstd", "kcat-zstd", "kcat into zstd -1", None),
    ("beat-local-gzip", "kcat-gzip", "kcat into gzip -6", None),
    ("beat-local-zstd", "connect-file", "Connect FileStream", None),
    ("beat-local-zstd-confluent", "connect-file", "Connect FileStream", TARGET_CONFLUENT_VS_PEER),
    ("beat-local-zstd-confluent", "kcat-zstd", "kcat into zstd -1", TARGET_CONFLUENT_VS_PEER),
)


def _peer_ratios(name: str, median: Median) -> list[Target]:
    """Kafka Beat ÷ a peer, records/s and CPU s (CPU with no goal: where Kafka Beat stands)."""
    found = []
    for beat, peer, title, goal in PEER_PAIRS:
        for key, what in (("records_per_second", "records/s"), ("cpu_seconds", "CPU s")):
            value = ratio_of(median(name, beat, key), median(name, peer, key))
            if value is None:
                continue
            label = beat.removeprefix("beat-").replace("-", " ", 1)
            what_ = f"{name}: Kafka Beat {label} ÷ {title}, {what}"
            ruled = goal is not None and key == "records_per_second"
            found.append(at_least(what_, value, goal) if ruled else shown(what_, value))
    return found


def _dead_letter_targets(flows: dict[str, Any], median: Median) -> list[Target]:
    """Half the records invalid against all valid: the run's own seconds (`duration_seconds`,
    same records consumed) per destination, and the dead-letter objects listed after each run
    of the invalid workload against its data objects (every sample, not the median)."""
    found: list[Target] = []
    for invalid, valid in DEAD_LETTER_PAIRS:
        for where in ("local", "s3"):
            for codec in ("zstd", "gzip"):
                label = f"beat-{where}-{codec}"
                a, b = median(invalid, label, "seconds"), median(valid, label, "seconds")
                ratio = ratio_of(a, b)
                if ratio is None:
                    continue
                pa, pb = (median(n, label, "process_seconds") for n in (invalid, valid))
                found.append(
                    at_most(
                        f"{invalid} ÷ {valid}: run seconds, {where} {codec}",
                        ratio,
                        TARGET_HALF_INVALID_VS_VALID,
                        f"{a} / {b} s; process {pa} / {pb} s",
                    )
                )
        listed = [
            (s["figures"]["dead_letter_objects"], s["figures"]["data_objects"], label)
            for label, run in flows.get(invalid, {}).get("runs", {}).items()
            for s in run["samples"]
            if s["error"] is None and "dead_letter_objects" in s["figures"]
        ]
        if listed:
            letters, data, where = max(listed, key=lambda x: x[0] / max(1, x[1]))
            found.append(
                Target(
                    f"{invalid}: dead-letter objects ÷ data objects, highest of {len(listed)} runs",
                    round(letters / data, 3) if data else None,
                    "≤ 1",
                    all(d <= n for d, n, _ in listed),
                    f"{letters:g} / {data:g}, {where}",
                )
            )
    return found
