"""The benchmark's rows: labels and titles, the settings each Kafka Beat row runs with, the
encoder its summary must name, the big records' topic, and own_cost's JSON."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest

from handler.format.native import chosen_encoder
from scripts.benchmarks import own_cost
from scripts.benchmarks.markdown import beat_of, run_title
from scripts.benchmarks.payloads import BIG_DOCUMENT_BYTES, big_document
from scripts.benchmarks.runs import Bench, wrong_encoder
from scripts.benchmarks.sections import STARTUP_BEATS, startup_column
from scripts.benchmarks.workloads import (
    BIG_RECORD_LIMIT_BYTES,
    LOCAL_PARQUET_ZSTD,
    LOCAL_ZSTD,
    LOCAL_ZSTD_GROUP_CONFLUENT,
    LOCAL_ZSTD_PYTHON,
    Beat,
    workloads,
)

NATIVE_BUILT = importlib.util.find_spec("kafka_beat_native") is not None


def test_every_workloads_labels_are_unique() -> None:
    for workload in workloads(1):
        labels = [beat.label for beat in workload.beats]
        assert len(labels) == len(set(labels)), workload.name


def test_the_python_encoder_and_group_mode_have_labels_and_titles_of_their_own() -> None:
    assert LOCAL_ZSTD_PYTHON.label == "beat-local-zstd-python"
    assert LOCAL_ZSTD_GROUP_CONFLUENT.label == "beat-local-zstd-group-confluent"
    assert Beat("local", "zstd", client="confluent", encoder="python").label == (
        "beat-local-zstd-confluent-python"
    )
    assert Beat("local", "zstd", encoder="native").label == LOCAL_ZSTD.label
    assert run_title("beat-local-zstd-python") == "Kafka Beat → local dir, zstd, Python encoder"
    assert run_title("beat-local-zstd-group-confluent") == (
        "Kafka Beat (confluent-kafka) → local dir, zstd, group mode"
    )
    assert beat_of("raw-confluent") is None


def test_the_python_row_runs_beside_the_native_one_on_the_main_workloads() -> None:
    main = {w.name: {b.label for b in w.beats} for w in workloads(1)}
    for name in ("logs-8p", "docs-8p"):
        assert {"beat-local-zstd", "beat-local-zstd-python"} <= main[name]
    others = [b for w in workloads(1) for b in w.beats if b != LOCAL_ZSTD_PYTHON]
    assert all(beat.encoder is None for beat in others)


def test_a_row_expects_native_unless_it_says_python() -> None:
    assert LOCAL_ZSTD.expected_encoder == "native"
    assert LOCAL_ZSTD_PYTHON.expected_encoder == "python"
    assert LOCAL_PARQUET_ZSTD.expected_encoder == "native"


@pytest.mark.skipif(not NATIVE_BUILT, reason="the native encoder is not built here")
@pytest.mark.parametrize("beat", [LOCAL_ZSTD, LOCAL_PARQUET_ZSTD, LOCAL_ZSTD_PYTHON])
def test_the_expected_encoder_is_what_a_run_chooses_where_native_is_built(beat: Beat) -> None:
    assert chosen_encoder(beat.encoder or "auto") == beat.expected_encoder


def test_a_summary_naming_another_encoder_is_an_error() -> None:
    assert wrong_encoder(LOCAL_ZSTD, {"encoder": "native"}) is None
    message = wrong_encoder(LOCAL_ZSTD, {"encoder": "python"})
    assert message is not None
    assert "python encoder" in message and "measures native" in message
    assert "scripts/setup" in message
    assert wrong_encoder(LOCAL_ZSTD_PYTHON, {"encoder": "native"}) is not None
    assert wrong_encoder(LOCAL_ZSTD, {}) is not None  # a summary without it: not trusted


def bench(tmp_path: Path) -> Bench:
    return Bench("127.0.0.1:9", tmp_path, None, {}, None, None)  # type: ignore[arg-type]


def test_group_mode_names_the_topic_and_assign_mode_the_partitions(tmp_path: Path) -> None:
    workload = next(w for w in workloads(1) if w.name == "logs-8p-200k")
    assigned, _ = bench(tmp_path).beat_env(workload, LOCAL_ZSTD)
    assert assigned["KAFKA_BEAT_PARTITIONS"] == f"{workload.topic}:0-7"
    assert "KAFKA_BEAT_TOPICS" not in assigned
    assert "KAFKA_BEAT_ENCODER" not in assigned  # auto
    grouped, _ = bench(tmp_path).beat_env(workload, LOCAL_ZSTD_GROUP_CONFLUENT)
    assert grouped["KAFKA_BEAT_TOPICS"] == workload.topic
    assert "KAFKA_BEAT_PARTITIONS" not in grouped
    assert grouped["KAFKA_BEAT_KAFKA_CLIENT"] == "confluent"
    python, _ = bench(tmp_path).beat_env(workload, LOCAL_ZSTD_PYTHON)
    assert python["KAFKA_BEAT_ENCODER"] == "python"


def test_start_up_covers_each_client_in_each_mode_and_s3() -> None:
    columns = [startup_column(beat) for beat in STARTUP_BEATS]
    assert columns == ["local", "local_group", "local_confluent", "local_confluent_group", "s3"]


def test_the_short_scheduled_run_is_group_mode_on_both_clients() -> None:
    workload = next(w for w in workloads(1) if w.name == "logs-8p-200k")
    assert workload.records == 200_000 and workload.partitions == 8 and workload.default
    assert {(b.client, b.mode) for b in workload.beats} == {
        ("kafka-python", "group"),
        ("confluent", "group"),
    }


def test_big_records_fit_the_topic_and_the_producer_is_allowed_them() -> None:
    big = next(w for w in workloads(1) if w.name == "big-2p")
    assert dict(big.topic_configs) == {"max.message.bytes": str(BIG_RECORD_LIMIT_BYTES)}
    assert f"max.request.size={BIG_RECORD_LIMIT_BYTES}" in big.producer_properties
    # The largest document with room for the key, headers and the batch's own bytes.
    assert BIG_DOCUMENT_BYTES[1] + 64 * 1024 < BIG_RECORD_LIMIT_BYTES
    assert {b.client for b in big.beats} == {"kafka-python", "confluent"}
    assert big.raw and big.raw_confluent and big.rss_each_run and not big.rate_targets
    assert next(w for w in workloads(10) if w.name == "big-2p").records == 40  # not scaled


def test_a_big_document_is_json_of_the_size_asked() -> None:
    document = big_document(random.Random(7), 3, (50_000, 60_000))
    parsed = json.loads(document)
    assert parsed["batch"] == 3 and len(parsed["events"]) > 100
    assert 50_000 - 400 <= len(document) < 60_000


def test_own_cost_prints_its_figures_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = own_cost.main(["--json", "--partitions", "2", "--records", "50", "--encoder", "python"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert figures["records"] == 100
    assert figures["encoder"] == "python" and figures["status"] == "ok"
    assert figures["us_per_record"] > 0 and figures["payload"] == "logs"
