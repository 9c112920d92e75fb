"""The targets on what a run costs beyond its throughput: peak RSS, start-up (spawn → first
object, spawn → exit, a short scheduled run's whole process) on each client, and Kafka Beat's
own CPU per record without a broker."""

from __future__ import annotations

from typing import Any

from .sections import OWN_COST, OWN_COST_PAYLOADS, STARTUP_BEATS, startup_column
from .target import Median, Target, at_most, ratio_of, shown
from .workloads import LOCAL_ZSTD_GROUP, LOCAL_ZSTD_GROUP_CONFLUENT, Mode, workloads

TARGET_PEAK_RSS_MIB = 256.0
TARGET_BACKLOG_RSS_SPREAD = 0.10
TARGET_PARTITIONS_RSS_SPREAD = 0.25
TARGET_STARTUP_SECONDS = 1.5
# confluent-kafka against kafka-python: each start-up figure, and the whole process of a short
# scheduled run (200k records, 8 partitions, group mode), within 10 %.
TARGET_CONFLUENT_VS_KAFKA_PYTHON_SECONDS = 1.1
# µs of CPU per record, Kafka Beat alone (no broker, no client), native encoder.
TARGET_OWN_COST_US = {"logs": 0.8, "docs": 5.0}


def memory_targets(flows: dict[str, Any], median: Median) -> list[Target]:
    """The largest peak RSS of any Kafka Beat run; each run's of the workloads that ask for it
    (big records; the raw loops' beside them, without a goal); and how the peak moves with
    backlog and partitions."""
    found: list[Target] = []
    peaks = [
        (s["figures"]["peak_rss_mib"], f"{name} {label}")
        for name, flow in flows.items()
        for label, run in flow["runs"].items()
        if label.startswith("beat-")
        for s in run["samples"]
        if s["error"] is None and "peak_rss_mib" in s["figures"]
    ]
    if peaks:
        peak, where = max(peaks)
        title = "Kafka Beat peak RSS, MiB (largest run)"
        found.append(at_most(title, peak, TARGET_PEAK_RSS_MIB, where))
    each = {w.name for w in workloads(1) if w.rss_each_run}
    for name in (n for n in flows if n in each):
        for label, run in flows[name]["runs"].items():
            values = [
                s["figures"]["peak_rss_mib"]
                for s in run["samples"]
                if s["error"] is None and "peak_rss_mib" in s["figures"]
            ]
            failed = sum(1 for s in run["samples"] if s["error"])
            runs = f"{len(values)} run" + ("s" if len(values) != 1 else "")
            note = f"highest of {runs}" + (f", {failed} failed" if failed else "")
            title = f"{name}: peak RSS, MiB, {label}"
            peak = max(values) if values else None
            if label.startswith("beat-"):
                found.append(at_most(title, peak, TARGET_PEAK_RSS_MIB, note))
            else:  # a client's own loop: where it stands, not a target of Kafka Beat's
                found.append(Target(title, peak, "—", None, note))
    for big, base, what, spread in (
        ("logs-8p-4x", "logs-8p", "4x backlog ÷ 1x", TARGET_BACKLOG_RSS_SPREAD),
        ("logs-64p", "logs-8p", "64 ÷ 8 partitions", TARGET_PARTITIONS_RSS_SPREAD),
    ):
        for codec in ("zstd", "gzip", "parquet-zstd", "zstd-confluent"):
            a = median(big, f"beat-local-{codec}", "peak_rss_mib")
            b = median(base, f"beat-local-{codec}", "peak_rss_mib")
            ratio = ratio_of(a, b)
            if ratio is not None:
                ok = abs(ratio - 1) <= spread
                goal = f"1 ± {spread:.2f}"
                found.append(
                    Target(f"peak RSS {what}, local {codec}", ratio, goal, ok, f"{a} / {b}")
                )
    return found


def _startup_pair(mode: Mode) -> tuple[str, str]:
    """The start-up columns of kafka-python and confluent-kafka in `mode`, local directory."""
    local = [b for b in STARTUP_BEATS if b.destination == "local" and b.mode == mode]
    by_client = {b.client: startup_column(b) for b in local}
    return by_client["kafka-python"], by_client["confluent"]


def startup_targets(flows: dict[str, Any], median: Median) -> list[Target]:
    """Spawn → first object (kafka-python, assign, local and S3) within 1.5 s; each start-up
    figure and a short scheduled run's whole process, confluent-kafka ÷ kafka-python."""
    found: list[Target] = []
    goal = TARGET_CONFLUENT_VS_KAFKA_PYTHON_SECONDS
    for name, flow in flows.items():
        start = flow.get("startup", {}).get("median", {})
        for where in ("local", "s3"):
            seconds = start.get(f"first_object_seconds_{where}")
            if seconds is not None:
                found.append(
                    Target(
                        f"start-up, spawn → first object stored ({where}, 1 record)",
                        seconds,
                        f"≤ {TARGET_STARTUP_SECONDS:g} s",
                        seconds <= TARGET_STARTUP_SECONDS,
                        f"imports {start.get(f'import_seconds_{where}')} s",
                    )
                )
        for mode in ("assign", "group"):
            kafka_python, confluent = _startup_pair(mode)
            for what, title in (("first_object", "spawn → first object"), ("exit", "spawn → exit")):
                a = start.get(f"{what}_seconds_{confluent}")
                b = start.get(f"{what}_seconds_{kafka_python}")
                if a is None or b is None:
                    continue
                found.append(
                    at_most(
                        f"start-up, {title}, {mode} mode, confluent-kafka ÷ kafka-python",
                        ratio_of(a, b),
                        goal,
                        f"{a} / {b} s",
                    )
                )
        a = median(name, LOCAL_ZSTD_GROUP_CONFLUENT.label, "process_seconds")
        b = median(name, LOCAL_ZSTD_GROUP.label, "process_seconds")
        if a is not None and b is not None:
            found.append(
                at_most(
                    f"{name}: whole process s (spawn → exit), group mode, local zstd, "
                    "confluent-kafka ÷ kafka-python",
                    ratio_of(a, b),
                    goal,
                    f"{a} / {b} s",
                )
            )
    return found


def own_cost_targets(flows: dict[str, Any]) -> list[Target]:
    """Kafka Beat's own CPU per record (benchmarks.own_cost): the native encoder against its
    target, the Python encoder's beside it."""
    found: list[Target] = []
    for name, flow in flows.items():
        if OWN_COST not in flow:
            continue
        m = flow[OWN_COST]["median"]
        payload = OWN_COST_PAYLOADS[flow["payload"]]
        native, python = m.get("native_us_per_record"), m.get("python_us_per_record")
        title = f"{name}: Kafka Beat's own CPU per record ({payload}, no broker), µs"
        records = f"{m.get('native_records', 0):,.0f} records"
        found.append(
            at_most(f"{title}, native encoder", native, TARGET_OWN_COST_US[payload], records)
        )
        found.append(
            shown(f"{title}, Python encoder", python, f"native ÷ Python {ratio_of(native, python)}")
        )
    return found
