"""One measured run of each consumer: the Java and raw kafka-python ceilings and Kafka Beat's full
runs (each checked to have used the encoder its row names); each in its own process, spawned
by the launcher. The sections (start-up, codec levels, own cost) are in sections.py."""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import BenchError
from .machine import Watch
from .parsing import consumer_performance, run_summary, stored_objects
from .processes import PROGRAMS_DIR, Child, Launcher, child_env
from .services import BUCKET, S3_REGION, delete_prefix, kafka_tool, list_objects, s3_client
from .workloads import Beat, Client, Destination, Workload

MB = 1_000_000
MIB = 1024 * 1024
RAW_CONSUMER = PROGRAMS_DIR / "raw_consumer.py"
RAW_CONFLUENT_CONSUMER = PROGRAMS_DIR / "raw_confluent_consumer.py"
RAW_CONFLUENT = "raw-confluent"


@dataclass
class Sample:
    """One measured process; `figures` holds the numbers the tables and JSON use."""

    label: str
    repetition: int
    figures: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def process_figures(child: Child, records: int) -> dict[str, float]:
    per_million = 1_000_000 / records if records else 0.0
    return {
        "process_seconds": round(child.seconds, 3),
        "cpu_seconds": round(child.cpu_seconds, 3),
        "cpu_seconds_per_million": round(child.cpu_seconds * per_million, 3),
        "peak_rss_mib": round(child.peak_rss_mib, 1),
    }


def rates(records: int, payload_bytes: int, seconds: float) -> dict[str, float]:
    return {
        "records": records,
        "payload_bytes": payload_bytes,
        "seconds": round(seconds, 3),
        "records_per_second": round(records / seconds, 1) if seconds else 0.0,
        "mb_per_second": round(payload_bytes / MB / seconds, 3) if seconds else 0.0,
    }


class Bench:
    def __init__(
        self,
        bootstrap: str,
        work_dir: Path,
        s3_endpoint: str | None,
        expected: dict[str, int],
        launcher: Launcher,
        watch: Watch,
        slow_s3_endpoint: str | None = None,
    ) -> None:
        self.launcher = launcher
        self.watch = watch
        self.bootstrap = bootstrap
        self.work_dir = work_dir
        self.s3_endpoint = s3_endpoint
        self.slow_s3_endpoint = slow_s3_endpoint
        """The moto server behind the latency proxy (benchmarks.latency_proxy)."""
        self.expected = expected
        self.cwd = work_dir / "cwd"  # empty: no .env file a run could pick up
        self.cwd.mkdir(exist_ok=True)
        self._s3: Any = None

    # -- ceilings -----------------------------------------------------------------------------

    def java(self, workload: Workload, repetition: int) -> Sample:
        sample = Sample("java", repetition)
        records = self.expected[workload.topic]
        command = kafka_tool(
            "ConsumerPerformance",
            self.bootstrap,
            workload.topic,
            records,
            "--group",
            f"bench-java-{uuid.uuid4().hex[:12]}",
            "--timeout",
            "30000",
            "--command-property",
            "isolation.level=read_committed",
        )
        child = self.launcher.run(command, child_env(), self.cwd, timeout_for(records))
        stats = consumer_performance(child.stdout)
        if child.returncode != 0 or stats is None:
            sample.error = f"ConsumerPerformance exit {child.returncode}: {child.stdout[-800:]}"
            return sample
        consumed = int(stats["data.consumed.in.nMsg"])
        # The tool's MB are MiB; its fetch figures leave out the group join, which the other
        # consumers (assign mode) don't have.
        sample.figures = {
            "records": consumed,
            "payload_bytes": round(stats["data.consumed.in.MB"] * MIB),
            "seconds": round(stats["fetch.time.ms"] / 1000, 3),
            "records_per_second": stats["fetch.nMsg.sec"],
            "mb_per_second": round(stats["fetch.MB.sec"] * MIB / MB, 3),
            "records_per_second_with_join": stats["nMsg.sec"],
            "rebalance_ms": stats["rebalance.time.ms"],
            **process_figures(child, consumed),
        }
        if consumed < records:
            sample.error = f"ConsumerPerformance read {consumed:,} of {records:,} records"
        return sample

    def raw(
        self,
        workload: Workload,
        repetition: int,
        check_crcs: bool,
        client: Client = "kafka-python",
    ) -> Sample:
        """The client's bare consume loop; confluent's ignores check_crcs (librdkafka's
        check.crcs stays off, as in a run)."""
        if client == "confluent":
            sample, program = Sample(RAW_CONFLUENT, repetition), RAW_CONFLUENT_CONSUMER
        else:
            sample = Sample("raw-crc-on" if check_crcs else "raw-crc-off", repetition)
            program = RAW_CONSUMER
        config = {
            "bootstrap": self.bootstrap,
            "group": f"bench-raw-{uuid.uuid4().hex[:12]}",
            "topic": workload.topic,
            "partitions": workload.partitions,
            "check_crcs": check_crcs,
        }
        records = self.expected[workload.topic]
        command = [sys.executable, str(program), json.dumps(config)]
        child = self.launcher.run(command, child_env(), self.cwd, timeout_for(records))
        try:
            result = json.loads(child.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            sample.error = f"raw consumer exit {child.returncode}:\n{child.tail()}"
            return sample
        sample.figures = {
            **rates(result["records"], result["payload_bytes"], result["seconds"]),
            "first_fetch_seconds": round(result["first_fetch_seconds"], 3),
            **process_figures(child, result["records"]),
        }
        if result["records"] != records:
            sample.error = f"read {result['records']:,} of {records:,} records"
        return sample

    # -- Kafka Beat ----------------------------------------------------------------------------

    def beat_env(self, workload: Workload, beat: Beat, **extra: str) -> tuple[dict[str, str], str]:
        run = uuid.uuid4().hex[:12]
        last = workload.partitions - 1
        settings = {
            "KAFKA_BEAT_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_BEAT_GROUP_ID": f"bench-beat-{run}",
            "KAFKA_BEAT_COMPRESSION": beat.codec,
        }
        if beat.mode == "group":
            settings["KAFKA_BEAT_TOPICS"] = workload.topic
        else:
            settings["KAFKA_BEAT_PARTITIONS"] = f"{workload.topic}:0-{last}"
        if beat.encoder is not None:
            settings["KAFKA_BEAT_ENCODER"] = beat.encoder
        if beat.level is not None:
            settings["KAFKA_BEAT_COMPRESSION_LEVEL"] = str(beat.level)
        if beat.format != "jsonl":
            settings["KAFKA_BEAT_FORMAT"] = beat.format
        if beat.client != "kafka-python":
            settings["KAFKA_BEAT_KAFKA_CLIENT"] = beat.client
        if beat.destination == "s3":
            endpoint = self.slow_s3_endpoint if beat.latency_ms else self.s3_endpoint
            if endpoint is None:
                raise BenchError(f"{beat.label} without its S3 endpoint")
            settings["KAFKA_BEAT_DESTINATION"] = f"s3://{BUCKET}/{run}"
            settings["KAFKA_BEAT_S3_ENDPOINT_URL"] = endpoint
            settings["KAFKA_BEAT_S3_REGION"] = S3_REGION
        else:
            settings["KAFKA_BEAT_DESTINATION"] = str(self.work_dir / "out" / run)
        settings.update(extra)
        return child_env(settings), run

    def beat(self, workload: Workload, beat: Beat, repetition: int) -> Sample:
        sample = Sample(beat.label, repetition)
        records = self.expected[workload.topic]
        extra = {"KAFKA_BEAT_VALUE_FORMAT": workload.value_format} if workload.value_format else {}
        env, run = self.beat_env(workload, beat, **extra)
        try:
            child = self.launcher.run(
                [sys.executable, "-m", "handler"], env, self.cwd, timeout_for(records)
            )
            stored = stored_objects(self.listing(beat.destination, run))  # untimed
        finally:
            self.clean(beat.destination, run)
        summary = run_summary(child)
        if summary is None:
            sample.error = f"kafka beat exit {child.returncode}:\n{child.tail()}"
            return sample
        # What the run consumed: the records stored as data and those stored as dead letters.
        # bytes_in (so MB/s) and the compression count the valid records only.
        dead_letters = summary.get("dead_letters", 0)
        consumed = summary["records"] + dead_letters
        sample.figures = {
            **rates(consumed, summary["bytes_in"], summary["duration_seconds"]),
            "valid_records": summary["records"],
            "dead_letters": dead_letters,
            "bytes_out": summary["bytes_out"],
            "objects": summary["objects"],
            **stored,
            "compression_ratio": round(summary["bytes_encoded"] / max(1, summary["bytes_out"]), 2),
            "process_records_per_second": round(consumed / child.seconds, 1),
            **process_figures(child, consumed),
        }
        if child.returncode != 0 or summary["status"] != "ok":
            sample.error = f"run {summary['status']}: {summary.get('errors')}"
        elif mismatch := wrong_encoder(beat, summary):
            sample.error = mismatch
        elif consumed != records:
            sample.error = (
                f"stored {summary['records']:,} records and {dead_letters:,} dead letters "
                f"of {records:,} records"
            )
        elif stored["data_objects"] != summary["objects"]:
            sample.error = (
                f"{stored['data_objects']} data objects listed, the run says {summary['objects']}"
            )
        return sample

    def listing(self, destination: Destination, run: str) -> list[tuple[str, int]]:
        """(key, size) of every file or object a run left at its destination."""
        if destination == "local":
            root = self.work_dir / "out" / run
            files = (path for path in root.rglob("*") if path.is_file())
            return [(path.relative_to(root).as_posix(), path.stat().st_size) for path in files]
        return list_objects(self.s3(), f"{run}/")

    def clean(self, destination: Destination, run: str) -> None:
        """Drop a run's objects (untimed): the next run starts from an empty prefix anyway,
        and keeping gigabytes in moto's memory would slow the machine for the later runs."""
        if destination == "local":
            shutil.rmtree(self.work_dir / "out" / run, ignore_errors=True)
            return
        delete_prefix(self.s3(), f"{run}/")

    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = s3_client(self.s3_endpoint)
        return self._s3


def wrong_encoder(beat: Beat, summary: dict[str, Any]) -> str | None:
    """Why a run's summary does not name the encoder its row measures (None: it does)."""
    said = summary.get("encoder")
    if said == beat.expected_encoder:
        return None
    fix = (
        " (the native encoder is not built here: run scripts/setup with Rust's cargo on PATH)"
        if beat.expected_encoder == "native"
        else ""
    )
    expected = beat.expected_encoder
    return f"the run used the {said} encoder, the row {beat.label} measures {expected}{fix}"


def timeout_for(records: int) -> float:
    return max(300.0, records / 2_000)
