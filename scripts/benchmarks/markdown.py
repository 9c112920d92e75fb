"""The Markdown: the results table, the targets, start-up, Kafka Beat's own cost, the codecs'
levels and the cost on Lambda."""

from __future__ import annotations

from typing import Any

from .lambda_cost import LAMBDA_MEMORY_MB, LAMBDA_PRICE_PER_GB_SECOND
from .runs import RAW_CONFLUENT
from .sections import (
    CODEC_LEVELS,
    CODEC_LEVELS_BYTES,
    OWN_COST,
    OWN_COST_PAYLOADS,
    SECTIONS,
    STARTUP_BEATS,
    startup_column,
)
from .target import ratio_of
from .workloads import PEER_TITLES, Beat, workloads


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


def beat_of(label: str) -> Beat | None:
    """The Kafka Beat row a label names, in any workload (None: not a Kafka Beat row)."""
    for workload in workloads(1):
        for beat in workload.beats:
            if beat.label == label:
                return beat
    return None


def run_title(label: str) -> str:
    beat = beat_of(label)
    if beat is not None:
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


def _row(title: str, values: list[float | None], digits: int = 3) -> str:
    return f"| {title} | " + " | ".join(_fmt(v, digits) for v in values) + " |"


def _startup_column_title(beat: Beat) -> str:
    where = "S3 (moto)" if beat.destination == "s3" else "local dir"
    client = "confluent-kafka" if beat.client == "confluent" else "kafka-python"
    return f"{where}, {client}, {beat.mode}"


def _startup_lines(results: dict[str, Any]) -> list[str]:
    """Start-up, one table per workload that measured it: a column per client, mode and
    destination (imports measured once per client and destination: the mode adds none)."""
    lines = []
    for name, flow in results["workloads"].items():
        if "startup" not in flow:
            continue
        m = flow["startup"]["median"]
        beats = [b for b in STARTUP_BEATS if f"exit_seconds_{startup_column(b)}" in m]
        columns = [startup_column(b) for b in beats]
        n = len(beats)
        imports = [startup_column(Beat(b.destination, b.codec, client=b.client)) for b in beats]

        lines += [
            "",
            f"Start-up ({name}, a one-record budget; median seconds; assign: every partition"
            " named in KAFKA_BEAT_PARTITIONS, group: the topic in KAFKA_BEAT_TOPICS with a fresh"
            " group joined):",
            "",
            "| | " + " | ".join(_startup_column_title(b) for b in beats) + " |",
            "|---|" + "--:|" * n,
            _row("interpreter alone (`python -c pass`)", [m.get("interpreter_seconds")] * n),
            _row(
                "imports of a run (`-X importtime`, top-level cumulative)",
                [m.get(f"import_seconds_{c}") for c in imports],
            ),
            _row(
                "spawn → first object stored (≥ first record fetched)",
                [m.get(f"first_object_seconds_{c}") for c in columns],
            ),
            _row("spawn → exit", [m.get(f"exit_seconds_{c}") for c in columns]),
            _row("peak RSS, MiB", [m.get(f"peak_rss_mib_{c}") for c in columns], 0),
        ]
    return lines


def _own_cost_lines(results: dict[str, Any]) -> list[str]:
    """Kafka Beat's own CPU per record, each encoder, one row per workload that measured it."""
    rows = []
    for name, flow in results["workloads"].items():
        if OWN_COST not in flow:
            continue
        m = flow[OWN_COST]["median"]
        native, python = m.get("native_us_per_record"), m.get("python_us_per_record")
        rows.append(
            f"| {name} | {OWN_COST_PAYLOADS[flow['payload']]} | {_fmt(m.get('native_records'))} "
            f"| {_fmt(native, 2)} | {_fmt(python, 2)} | {_fmt(ratio_of(native, python), 2)} "
            f"| {_fmt(m.get('native_peak_rss_mib'))} | {_fmt(m.get('python_peak_rss_mib'))} |"
        )
    if not rows:
        return []
    return [
        "",
        "Kafka Beat's own cost (`python -m scripts.benchmarks.own_cost`: a whole run over"
        " kafka-python's records made in memory, no broker, into a local directory, zstd; CPU of"
        " every thread per record; median):",
        "",
        "| workload | payload | records | native µs / record | Python µs / record "
        "| native ÷ Python | native peak RSS MiB | Python peak RSS MiB |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
        *rows,
    ]


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
            beat = beat_of(label)
            raw = raws[beat.client if beat is not None else "kafka-python"]
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
        " Kafka Beat rows assign every partition (KAFKA_BEAT_PARTITIONS) unless they say *group"
        " mode* (KAFKA_BEAT_TOPICS, a fresh group joined), and use the native encoder unless"
        " they say *Python encoder*; each run's summary"
        " is checked to name the encoder its row measures."
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
    lines += _startup_lines(results)
    lines += _own_cost_lines(results)
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
