"""The Markdown: the results table, the targets, start-up, the codecs' levels and cost."""

from __future__ import annotations

from typing import Any

from .figures import ratio_of
from .lambda_cost import LAMBDA_MEMORY_MB, LAMBDA_PRICE_PER_GB_SECOND
from .runs import CODEC_LEVELS, CODEC_LEVELS_BYTES, RAW_CONFLUENT, SECTIONS
from .workloads import DEAD_LETTER_BEATS, MAIN_BEATS, PEER_TITLES


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


_RUN_TITLES = {
    "java": "Java ConsumerPerformance (broker ceiling)",
    "raw-crc-on": "kafka-python raw loop, CRC on (raw ceiling)",
    "raw-crc-off": "kafka-python raw loop, CRC off",
    RAW_CONFLUENT: "confluent-kafka raw loop (librdkafka's ceiling)",
}


def run_title(label: str) -> str:
    for beat in (*MAIN_BEATS, *DEAD_LETTER_BEATS):
        if beat.label == label:
            return beat.title
    return _RUN_TITLES.get(label) or PEER_TITLES.get(label, label)


def _most_others(results: dict[str, Any]) -> float | None:
    values = [
        sample["figures"]["others_cores"]
        for flow in results["workloads"].values()
        for run in [*flow["runs"].values(), *(flow[k] for k in SECTIONS if k in flow)]
        for sample in run["samples"]
        if "others_cores" in sample["figures"]
    ]
    return max(values) if values else None


def _other_counts(results: dict[str, Any]) -> str:
    other = [
        f"{name}: {flow['repetitions']}"
        for name, flow in results["workloads"].items()
        if flow["repetitions"] != results["repetitions"]
    ]
    return f" ({', '.join(other)})" if other else ""


def _dead_letter_lines(results: dict[str, Any]) -> list[str]:
    """What the runs with a value format stored, from the medians: dead letters and objects."""
    lines = []
    for name, flow in results["workloads"].items():
        if not flow.get("value_format"):
            continue
        for label, run in flow["runs"].items():
            m = run["median"]
            if "dead_letter_objects" not in m:
                continue
            lines.append(
                f"- {name}, {run_title(label)}: {_fmt(m.get('dead_letters'))} of "
                f"{_fmt(m.get('records'))} records dead letters; "
                f"{_fmt(m['dead_letter_objects'])} dead-letter objects "
                f"({_fmt(m.get('dead_letter_bytes', 0) / 1e6, 1)} MB) for "
                f"{_fmt(m.get('data_objects'))} data objects"
            )
    if not lines:
        return []
    return [
        "",
        "Values read as JSON (`KAFKA_BEAT_VALUE_FORMAT`), median per run; there records/s and"
        " *run s* cover what the run consumed (records stored plus dead letters), MB/s and"
        " *compression* the valid records and the data objects only:",
        "",
        *lines,
    ]


def _peer_lines(results: dict[str, Any]) -> list[str]:
    ran = {label for flow in results["workloads"].values() for label in flow["runs"]}
    lines = []
    if ran & {"kcat-zstd", "kcat-gzip", "connect-file"}:
        lines += [
            "",
            "Peers, on the same topic in the same repetitions: *kcat \\| zstd -1* and *kcat \\|"
            " gzip -6* read every partition to its end (CRC checks on) into a compressor, timed"
            " spawn to exit, CPU and peak RSS of the whole pipeline (the larger process's RSS);"
            " they store the values alone, no envelope, so their *compression* is over the raw"
            " lines. *Kafka Connect FileStream sink*: the standalone worker (its own group, offsets"
            " flushed every second), timed from the JVM's spawn until the group's lag is 0 and"
            " the file holds every line; CPU is the JVM's at that moment, uncompressed output.",
        ]
    if "beat-s3-zstd-20ms" in ran:
        lines += [
            "",
            "*S3 (moto) +20 ms a request*: through benchmarks/latency_proxy.py, which holds each"
            " HTTP request 20 ms before forwarding it to moto (keeping the client's connection).",
        ]
    skipped = results.get("skipped", [])
    if skipped:
        lines += ["", *(f"- Skipped {why}" for why in skipped)]
    return lines


def _codec_level_lines(results: dict[str, Any]) -> list[str]:
    """The codecs alone, per level: one table per workload that measured them."""
    lines = []
    names = [f"{codec}-{level}" for codec, level in CODEC_LEVELS]
    for name, flow in results["workloads"].items():
        if "codec-levels" not in flow:
            continue
        m = flow["codec-levels"]["median"]
        lines += [
            "",
            f"Codecs alone ({name}: {CODEC_LEVELS_BYTES / 1e6:.0f} MB of its payload lines in"
            " Kafka Beat's envelope, 256 KiB chunks into one stream, one core; median):",
            "",
            "| | " + " | ".join(n.replace("-", " -") for n in names) + " |",
            "|---|" + "--:|" * len(names),
            "| MB/s | " + " | ".join(_fmt(m.get(f"{n}_mb_per_second")) for n in names) + " |",
            "| ratio | " + " | ".join(_fmt(m.get(f"{n}_ratio"), 2) for n in names) + " |",
        ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    facts = results["machine"]
    lines = [
        f"Benchmark of {results['date']} (`scripts/bench{results['arguments']}`): "
        f"{facts['cpu']}, {facts['cores']} cores, {facts['memory_gib']} GiB, Linux "
        f"{facts['kernel']}; Python {facts['python']}, kafka-python {facts['kafka_python']}, "
        f"Apache Kafka {facts['kafka']} (one broker on the same machine, loopback), "
        f"{facts['java']}; load average at start {facts['load_average_at_start'][0]}. "
        f"Median of {results['repetitions']} repetition(s){_other_counts(results)}.",
        "",
        "| workload | consumer | records/s | MB/s | ÷ raw | CPU s / 1M records "
        "| peak RSS MiB | run s | process s | compression | others' CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, flow in results["workloads"].items():
        raws = {
            client: flow["runs"].get(label, {}).get("median", {}).get("records_per_second")
            for client, label in (("kafka-python", "raw-crc-on"), ("confluent", RAW_CONFLUENT))
        }
        first = True
        for label, run in flow["runs"].items():
            m = run["median"]
            head = f"**{name}**<br>{flow['description']}" if first else ""
            first = False
            failed = sum(1 for s in run["samples"] if s["error"])
            title = run_title(label) + (f" ({failed} failed)" if failed else "")
            beat_on_confluent = label.startswith("beat-") and label.endswith("-confluent")
            raw = raws["confluent" if beat_on_confluent else "kafka-python"]
            ratio = ratio_of(m.get("records_per_second"), raw) if label != "raw-crc-on" else None
            compression = m.get("compression_ratio")
            lines.append(
                f"| {head} | {title} | {_fmt(m.get('records_per_second'))} "
                f"| {_fmt(m.get('mb_per_second'), 1)} | {_fmt(ratio, 2)} "
                f"| {_fmt(m.get('cpu_seconds_per_million'), 1)} "
                f"| {_fmt(m.get('peak_rss_mib'))} | {_fmt(m.get('seconds'), 2)} "
                f"| {_fmt(m.get('process_seconds'), 2)} "
                f"| {_fmt(compression, 1) + 'x' if compression else '—'} "
                f"| {_fmt(m.get('others_cores'), 2)} |"
            )
    lines += [
        "",
        "records/s and MB/s (10⁶ bytes of Kafka key + value + headers) are over each consumer's"
        " own timing (*run s*): Kafka Beat's `duration_seconds` (assignment to the last commit,"
        " objects stored), the raw loop's assignment to its last record, ConsumerPerformance's"
        " fetch time (without its group join). *process s* is spawn to exit (interpreter,"
        " imports, connecting, the run). CPU seconds and peak RSS are the whole process's, from"
        " the kernel (`wait4`). *÷ raw*: records/s over the raw kafka-python loop with CRC on;"
        " for Kafka Beat on confluent-kafka over confluent-kafka's raw loop (the raw loop's own"
        " row: ÷ kafka-python's)."
        " *compression*: JSON lines ÷ stored bytes. The broker, moto and the consumer share the"
        " machine's cores; *others' CPU* is what processes outside the benchmark used meanwhile,"
        f" in cores (highest of any sample: {_fmt(_most_others(results), 2)}).",
        *_peer_lines(results),
        *_dead_letter_lines(results),
        "",
        "| target | measured | goal | met |",
        "|---|--:|--:|:-:|",
    ]
    for target in results["targets"]:
        met = {True: "yes", False: "**no**", None: "—"}[target["ok"]]
        note = f" ({target['note']})" if target["note"] else ""
        lines.append(
            f"| {target['target']}{note} | {_fmt(target['measured'], 2)} "
            f"| {target['goal']} | {met} |"
        )
    startup = [
        (name, flow["startup"]) for name, flow in results["workloads"].items() if "startup" in flow
    ]
    for name, start in startup:
        m = start["median"]
        lines += [
            "",
            f"Start-up ({name}, explicit partitions, a one-record budget; median seconds):",
            "",
            "| | local dir | S3 (moto) |",
            "|---|--:|--:|",
            f"| interpreter alone (`python -c pass`) | {_fmt(m.get('interpreter_seconds'), 3)} "
            f"| {_fmt(m.get('interpreter_seconds'), 3)} |",
            f"| imports of a run (`-X importtime`, top-level cumulative) "
            f"| {_fmt(m.get('import_seconds_local'), 3)} | {_fmt(m.get('import_seconds_s3'), 3)} |",
            f"| spawn → first object stored (≥ first record fetched) "
            f"| {_fmt(m.get('first_object_seconds_local'), 3)} "
            f"| {_fmt(m.get('first_object_seconds_s3'), 3)} |",
            f"| spawn → exit | {_fmt(m.get('exit_seconds_local'), 3)} "
            f"| {_fmt(m.get('exit_seconds_s3'), 3)} |",
        ]
    lines += _codec_level_lines(results)
    lines += [
        "",
        f"Cost on AWS Lambda at {LAMBDA_MEMORY_MB:,} MB (one vCPU; x86 "
        f"${LAMBDA_PRICE_PER_GB_SECOND:.10f} per GB-second, $0.20 per million requests, one "
        "invocation per workload backlog): billed seconds taken as the CPU seconds measured "
        "here (the run is single-threaded and CPU-bound), and, as an upper bound, the wall "
        "seconds of the process here.",
        "",
        "| workload | run | CPU s / 1M | GB-s / 1M | $ / 1M events | wall GB-s / 1M "
        "| wall $ / 1M |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for row in results["cost"]:
        lines.append(
            f"| {row['workload']} | {run_title(row['run'])} "
            f"| {_fmt(row['cpu_seconds_per_million'], 1)} "
            f"| {_fmt(row['gb_seconds_per_million'], 1)} | {row['usd_per_million']:.5f} "
            f"| {_fmt(row['wall_gb_seconds_per_million'], 1)} "
            f"| {row['wall_usd_per_million']:.5f} |"
        )
    return "\n".join(lines) + "\n"
