"""The benchmark's targets and the tables of its sections, drawn from made-up medians."""

from __future__ import annotations

from typing import Any

from scripts.benchmarks.figures import targets
from scripts.benchmarks.markdown import markdown

RATE, CPU = "records_per_second", "cpu_seconds_per_million"


def flow(runs: dict[str, dict[str, float]], **sections: dict[str, float]) -> dict[str, Any]:
    entry = {
        "runs": {
            label: {"median": m, "samples": [{"figures": m, "error": None}]}
            for label, m in runs.items()
        },
        "payload": "log",
    }
    for name, m in sections.items():
        entry[name.replace("_", "-")] = {"median": m, "samples": [{"figures": m, "error": None}]}
    return entry


def found(**flows: dict[str, Any]) -> dict[str, Any]:
    return {t.name: t for t in targets({"workloads": flows})}


def test_docs_take_the_same_zstd_and_cpu_targets_as_logs() -> None:
    runs = {
        "raw-crc-on": {RATE: 100.0, CPU: 10.0},
        "beat-local-zstd": {RATE: 80.0, CPU: 14.0},
        "beat-local-parquet-zstd": {RATE: 72.0, "bytes_out": 9.0},
    }
    runs["beat-local-zstd"]["bytes_out"] = 10.0
    for name in ("logs-8p", "docs-8p"):
        got = found(**{name: flow(runs)})
        zstd = got[f"{name}: local zstd ÷ raw kafka-python"]
        assert (zstd.measured, zstd.goal, zstd.ok) == (0.8, "≥ 0.8", True)
        cpu = got[f"{name}: CPU s, local zstd ÷ raw kafka-python"]
        assert (cpu.measured, cpu.goal, cpu.ok) == (1.4, "≤ 1.4", True)
        parquet = got[f"{name}: Parquet ÷ JSON lines, local zstd"]
        assert (parquet.measured, parquet.goal, parquet.ok) == (0.9, "≥ 0.9", True)


def test_confluent_rows_against_the_peers_their_raw_loop_and_s3() -> None:
    runs = {
        "raw-confluent": {RATE: 1000.0, CPU: 2.0},
        "beat-local-zstd-confluent": {RATE: 260.0, CPU: 4.2, "cpu_seconds": 4.2},
        "beat-s3-zstd-confluent": {RATE: 230.0},
        "connect-file": {RATE: 200.0, "cpu_seconds": 5.0},
        "kcat-zstd": {RATE: 210.0, "cpu_seconds": 1.0},
    }
    got = found(**{"docs-8p": flow(runs)})
    connect = got["docs-8p: Kafka Beat local zstd-confluent ÷ Connect FileStream, records/s"]
    assert (connect.measured, connect.goal, connect.ok) == (1.3, "≥ 1.3", True)
    kcat = got["docs-8p: Kafka Beat local zstd-confluent ÷ kcat into zstd -1, records/s"]
    assert (kcat.measured, kcat.ok) == (1.238, False)
    assert got["docs-8p: Kafka Beat local zstd-confluent ÷ kcat into zstd -1, CPU s"].ok is None
    cpu = got["docs-8p: CPU s, local zstd on confluent-kafka ÷ its raw loop"]
    assert (cpu.measured, cpu.goal, cpu.ok) == (2.1, "≤ 2", False)
    s3 = got["docs-8p: S3 ÷ local, zstd on confluent-kafka"]
    assert (s3.measured, s3.goal, s3.ok) == (0.885, "≥ 0.9", False)


def test_native_against_python_encoder_is_shown_without_a_goal() -> None:
    runs = {
        "beat-local-zstd": {RATE: 150.0, CPU: 6.0},
        "beat-local-zstd-python": {RATE: 100.0, CPU: 12.0},
    }
    got = found(**{"logs-8p": flow(runs)})
    rate = got["logs-8p: local zstd, native ÷ Python encoder, records/s"]
    cpu = got["logs-8p: local zstd, native ÷ Python encoder, CPU s"]
    assert (rate.measured, rate.goal, rate.ok) == (1.5, "—", None)
    assert cpu.measured == 0.5


def test_own_cost_targets_per_payload_with_the_python_figure_beside() -> None:
    logs = flow({}, own_cost={"native_us_per_record": 0.7, "python_us_per_record": 7.0})
    docs = flow({}, own_cost={"native_us_per_record": 6.0, "python_us_per_record": 30.0})
    docs["payload"] = "doc"
    got = found(**{"logs-8p": logs, "docs-8p": docs})
    own = "Kafka Beat's own CPU per record"
    log_target = got[f"logs-8p: {own} (logs, no broker), µs, native encoder"]
    assert (log_target.goal, log_target.ok) == ("≤ 0.8", True)
    doc_target = got[f"docs-8p: {own} (docs, no broker), µs, native encoder"]
    assert (doc_target.goal, doc_target.ok) == ("≤ 5", False)
    python = got[f"docs-8p: {own} (docs, no broker), µs, Python encoder"]
    assert (python.measured, python.ok) == (30.0, None)


STARTUP = {
    "interpreter_seconds": 0.02,
    "import_seconds_local": 0.2,
    "import_seconds_local_confluent": 0.25,
    "import_seconds_s3": 0.3,
    "first_object_seconds_local": 0.4,
    "exit_seconds_local": 1.0,
    "first_object_seconds_local_group": 0.5,
    "exit_seconds_local_group": 1.2,
    "first_object_seconds_local_confluent": 0.42,
    "exit_seconds_local_confluent": 1.2,
    "first_object_seconds_local_confluent_group": 0.6,
    "exit_seconds_local_confluent_group": 1.3,
    "first_object_seconds_s3": 0.6,
    "exit_seconds_s3": 1.4,
}


def test_start_up_of_confluent_within_ten_percent_of_kafka_python_in_each_mode() -> None:
    got = found(**{"logs-8p": flow({}, startup=STARTUP)})
    first = got["start-up, spawn → first object, assign mode, confluent-kafka ÷ kafka-python"]
    assert (first.measured, first.goal, first.ok) == (1.05, "≤ 1.1", True)
    exit_ = got["start-up, spawn → exit, assign mode, confluent-kafka ÷ kafka-python"]
    assert (exit_.measured, exit_.ok) == (1.2, False)
    group = got["start-up, spawn → first object, group mode, confluent-kafka ÷ kafka-python"]
    assert (group.measured, group.ok) == (1.2, False)
    assert got["start-up, spawn → exit, group mode, confluent-kafka ÷ kafka-python"].ok
    assert got["start-up, spawn → first object stored (s3, 1 record)"].ok


def test_the_short_scheduled_run_compares_whole_processes() -> None:
    runs = {
        "beat-local-zstd-group": {"process_seconds": 3.0, RATE: 100.0},
        "beat-local-zstd-group-confluent": {"process_seconds": 3.2, RATE: 150.0},
    }
    got = found(**{"logs-8p-200k": flow(runs)})
    name = (
        "logs-8p-200k: whole process s (spawn → exit), group mode, local zstd, "
        "confluent-kafka ÷ kafka-python"
    )
    assert (got[name].measured, got[name].goal, got[name].ok) == (1.067, "≤ 1.1", True)


def test_big_records_bound_each_runs_peak_and_nothing_else() -> None:
    runs = {
        "raw-crc-on": {RATE: 10.0, CPU: 100.0, "peak_rss_mib": 140.0},
        "raw-confluent": {RATE: 30.0, CPU: 50.0, "peak_rss_mib": 230.0},
        "beat-local-zstd": {RATE: 3.0, CPU: 300.0, "peak_rss_mib": 250.0},
        "beat-local-zstd-confluent": {RATE: 4.0, CPU: 250.0, "peak_rss_mib": 300.0},
    }
    got = found(**{"big-2p": flow(runs)})
    assert got["big-2p: peak RSS, MiB, beat-local-zstd"].ok
    raw = got["big-2p: peak RSS, MiB, raw-confluent"]
    assert (raw.measured, raw.goal, raw.ok) == (230.0, "—", None)  # the client's, shown only
    confluent = got["big-2p: peak RSS, MiB, beat-local-zstd-confluent"]
    assert (confluent.measured, confluent.goal, confluent.ok) == (300.0, "≤ 256", False)
    assert confluent.note == "highest of 1 run"
    assert not [name for name in got if "÷ raw" in name]


def results(**flows: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "date": "today",
        "arguments": "",
        "repetitions": 1,
        "machine": {
            "cpu": "cpu",
            "cores": 2,
            "memory_gib": 1,
            "kernel": "k",
            "python": "3",
            "kafka_python": "x",
            "kafka": "y",
            "java": "z",
            "load_average_at_start": [0.0],
        },
        "workloads": flows,
        "cost": [],
    }
    data["targets"] = [t.as_dict() for t in targets(data)]
    return data


def test_the_tables_show_start_up_per_client_and_mode_and_the_own_cost() -> None:
    logs = flow(
        {"raw-confluent": {RATE: 1000.0}, "beat-local-zstd-group-confluent": {RATE: 250.0}},
        startup=STARTUP,
        own_cost={"native_us_per_record": 0.7, "python_us_per_record": 7.0, "native_records": 8},
    )
    logs.update(description="logs", repetitions=1)
    text = markdown(results(**{"logs-8p": logs}))
    assert (
        "| | local dir, kafka-python, assign | local dir, kafka-python, group "
        "| local dir, confluent-kafka, assign | local dir, confluent-kafka, group "
        "| S3 (moto), kafka-python, assign |"
    ) in text
    # Imports once per client: a group column shows its client's.
    assert "| imports of a run (`-X importtime`, top-level cumulative) | 0.200 | 0.200 " in text
    assert "| spawn → exit | 1.000 | 1.200 | 1.200 | 1.300 | 1.400 |" in text
    assert "| logs-8p | logs | 8 | 0.70 | 7.00 | 0.10 |" in text
    # Kafka Beat on confluent-kafka in group mode: ÷ raw over confluent-kafka's loop.
    assert "| Kafka Beat (confluent-kafka) → local dir, zstd, group mode | 250 | — | 0.25 |" in text
