"""The benchmark's peer rows: their configuration, reading what they wrote, and the ratios."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import zstandard

from scripts.benchmarks import cli, peers
from scripts.benchmarks.figures import targets
from scripts.benchmarks.markdown import run_title
from scripts.benchmarks.parsing import count_lines
from scripts.benchmarks.peers import properties_text, sink_properties, worker_properties
from scripts.benchmarks.workloads import KCAT_PIPES, MAIN_BEATS, S3_ZSTD_SLOW, workloads

PROGRAMS = Path(__file__).resolve().parents[3] / "scripts" / "benchmarks" / "programs"


def program(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PROGRAMS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LINES = b"".join(b'{"n": %d}\n' % i for i in range(1000))


@pytest.mark.parametrize(
    ("compressor", "write"),
    [
        ("zstd", lambda data: zstandard.ZstdCompressor(level=1).compress(data)),
        ("gzip", gzip.compress),
        ("none", lambda data: data),
    ],
)
def test_count_lines_reads_what_the_compressor_wrote(compressor, write, tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_bytes(write(LINES))
    assert count_lines(path, compressor) == (1000, len(LINES))


def test_count_lines_reads_concatenated_zstd_frames(tmp_path: Path) -> None:
    context = zstandard.ZstdCompressor()
    path = tmp_path / "out.zst"
    path.write_bytes(context.compress(LINES) + context.compress(LINES))
    assert count_lines(path, "zstd") == (2000, 2 * len(LINES))


def test_connect_worker_is_loopback_service_load_and_flushes_every_second(tmp_path: Path) -> None:
    worker = worker_properties("127.0.0.1:9092", tmp_path / "offsets")
    assert worker["plugin.discovery"] == "service_load"
    assert worker["offset.flush.interval.ms"] == "1000"
    assert worker["listeners"].startswith("http://127.0.0.1:")
    # ByteArray values would be written as Java's b[] toString, not the record.
    assert worker["value.converter"].endswith("StringConverter")
    sink = sink_properties("bench-connect-x", "topic-a", tmp_path / "sink.txt")
    assert sink["tasks.max"] == "1"
    assert properties_text({"a": "1", "b.c": "x=y"}) == "a=1\nb.c=x=y\n"


def test_lag_counts_uncommitted_partitions_whole() -> None:
    lag = program("connect_sink").lag
    assert lag({0: 10, 1: 5}, {0: 10, 1: 5}) == 0
    assert lag({0: 10, 1: 5}, {0: 4}) == 11
    assert lag({0: 10}, {0: 12}) == 0


def test_line_counter_reads_each_new_byte_once(tmp_path: Path) -> None:
    path = tmp_path / "sink.txt"
    counter = program("connect_sink").LineCounter(path)
    assert counter.update() == 0  # not written yet
    path.write_bytes(b"a\nb\n")
    assert counter.update() == 2
    with path.open("ab") as handle:
        handle.write(b"cc\nd")
    assert (counter.update(), counter.bytes) == (3, 8)


def test_row_labels_are_unique_and_titles_escape_the_pipe() -> None:
    labels = [beat.label for beat in MAIN_BEATS] + [pipe.label for pipe in KCAT_PIPES]
    assert len(labels) == len(set(labels))
    assert S3_ZSTD_SLOW.label == "beat-s3-zstd-20ms"
    assert run_title("kcat-zstd") == "kcat \\| zstd -1 (peer)"
    assert run_title("beat-local-gzip-1") == "Kafka Beat → local dir, gzip -1"


def test_peers_run_by_default_on_the_main_workloads_and_not_with_no_peers() -> None:
    with_peers = {w.name for w in workloads(1) if w.peers and w.default}
    assert {"logs-8p", "docs-8p"} <= with_peers
    assert not cli.parse_args([]).no_peers
    assert cli.parse_args(["--no-peers"]).no_peers


def median(**runs: dict[str, float]) -> dict[str, object]:
    return {
        "workloads": {
            "logs-8p": {"runs": {k: {"median": v, "samples": []} for k, v in runs.items()}}
        }
    }


def test_targets_hold_the_latency_row_and_the_peer_ratios() -> None:
    found = {
        t.name: t
        for t in targets(
            median(
                **{
                    "beat-local-zstd": {"records_per_second": 100.0, "cpu_seconds": 10.0},
                    "beat-s3-zstd-20ms": {"records_per_second": 90.0},
                    "kcat-zstd": {"records_per_second": 400.0, "cpu_seconds": 1.0},
                }
            )
        )
    }
    slow = found["logs-8p: S3 +20 ms ÷ local, zstd"]
    assert (slow.measured, slow.ok) == (0.9, True)
    assert found["logs-8p: Kafka Beat local zstd ÷ kcat into zstd -1, records/s"].measured == 0.25
    assert found["logs-8p: Kafka Beat local zstd ÷ kcat into zstd -1, CPU s"].measured == 10.0


def test_a_missing_kcat_skips_its_rows_and_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(peers.shutil, "which", lambda tool: None if tool == "kcat" else tool)
    runner = peers.Peers(bench=None)  # type: ignore[arg-type]  # no run is made
    assert not runner.kcat_ready()
    assert not runner.kcat_ready()  # asked again: still one message
    assert len(runner.skipped) == 1
    assert "kcat not on PATH" in runner.skipped[0]
    assert "apt-get install -y kcat" in runner.skipped[0]
