"""Kafka Beat's own cost per record, without a broker: a whole run (`Collector`) over an
in-memory source into a temporary local directory, its CPU seconds (every thread) per record,
and with `--profile` the top of a cProfile. The source hands over kafka-python's own record
objects (`ConsumerRecord`), as the kafka-python source does, so what is measured is what a run
adds to the client: the benchmark's log lines (`--payload logs`) or 4 KB documents (`docs`),
with the encoder KAFKA_BEAT_ENCODER names (`--encoder`).

    .venv/bin/python -m scripts.benchmarks.own_cost [--payload docs] [--encoder python] [--profile]

It prints one line (`µs CPU per record`), or with `--json` one JSON object, which is how the
benchmark runs it (its own-cost section, once per repetition per payload and encoder). What
kafka-python costs on top (the raw loop's CPU per record) is measured by the benchmark.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import random
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kafka.consumer.fetcher import ConsumerRecord

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.engine.budget import Budget
from handler.engine.collector import Collector
from handler.kafka.kafka_python.source import _record
from handler.kafka.source import PollResult
from handler.record import RecordBatch
from handler.stores.local import LocalStore

from .payloads import document, log_line

PAYLOADS = {"logs": log_line, "docs": document}

_BATCH = 500  # records per partition per poll, about what kafka-python hands over


class MemoryTopic:
    """The part of a source a run in explicit-partition mode uses, over records in memory."""

    client = "memory"

    def __init__(
        self,
        partitions: int,
        records: int,
        payload: str = "logs",
        fresh: bool = False,
        frame: Callable[[str], bytes] = str.encode,
    ) -> None:
        """`frame`: the value's bytes from the payload's text (default: its UTF-8)."""
        self.fresh = fresh
        rng = random.Random(3)
        make = PAYLOADS[payload]
        self.refs = [PartitionRef("bench", p) for p in range(partitions)]
        self.records = {
            ref: [
                ConsumerRecord(
                    "bench",
                    ref.partition,
                    0,
                    offset,
                    1_764_054_000_000 + offset,
                    0,
                    b"host-%d" % (offset % 50),
                    frame(make(rng, offset)),
                    [("source", b"fw-01")],
                    None,
                    0,
                    0,
                    0,
                )
                for offset in range(records)
            ]
            for ref in self.refs
        }
        self.positions: dict[PartitionRef, int] = {}

    def start(self) -> list[str]:
        return []

    def assignment(self) -> set[PartitionRef]:
        return set(self.refs)

    def committed(self, ref: PartitionRef) -> int | None:
        return None

    def log_bounds(self, refs: Sequence[PartitionRef]) -> dict[PartitionRef, tuple[int, int]]:
        return {ref: (0, len(self.records[ref])) for ref in refs}

    def seek(self, ref: PartitionRef, offset: int) -> None:
        self.positions[ref] = offset

    def position(self, ref: PartitionRef) -> int:
        return self.positions[ref]

    def pause(self, ref: PartitionRef) -> None:
        pass

    def topics(self) -> set[str]:
        return {"bench"}

    def poll(self, timeout_seconds: float, max_records: int | None) -> PollResult:
        result = PollResult()
        for ref, position in self.positions.items():
            taken = self.records[ref][position : position + _BATCH]
            if self.fresh:
                # New key and value objects, as a client's are: what a run keeps of them is
                # then memory of its own.
                taken = [r._replace(key=_copy(r.key), value=_copy(r.value)) for r in taken]
            if taken:
                result.records[ref] = RecordBatch(taken, "kafka-python", _record)
                self.positions[ref] = position + len(taken)
        return result

    def commit(self, offsets: dict[PartitionRef, int], run_id: str) -> None:
        pass

    def close(self) -> None:
        pass


def _copy(data: bytes | None) -> bytes | None:
    return None if data is None else bytes(bytearray(data))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.benchmarks.own_cost", description=__doc__
    )
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--records", type=int, default=25_000, help="per partition")
    parser.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    parser.add_argument("--compression", default="zstd")
    parser.add_argument("--payload", choices=sorted(PAYLOADS), default="logs")
    parser.add_argument("--encoder", choices=("auto", "native", "python"), default="auto")
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the figures as one JSON object (records, encoder, status, cpu_seconds, "
        "us_per_record, peak_rss_mib, above_records_mib, bytes_out) instead of the line",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="copy each record's key and value as it is polled, so the peak RSS counts what "
        "the run holds of them (its CPU then includes the copies)",
    )
    arguments = parser.parse_args(argv)
    topic = MemoryTopic(arguments.partitions, arguments.records, arguments.payload, arguments.fresh)
    # The whole topic is in memory here, as no client holds it: out of the collector's sight,
    # or every collection would walk its records and bill the run for it.
    gc.freeze()
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            bootstrap_servers=("memory:0",),
            group_id="own-cost",
            partitions=topic.refs,
            destination=directory,
            compression=arguments.compression,
            format=arguments.format,
            encoder=arguments.encoder,
        )
        collector = Collector(
            settings,
            topic,  # type: ignore[arg-type]
            LocalStore(Path(directory)),
            Budget(),
        )
        profile = cProfile.Profile()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cpu = time.process_time()
        if arguments.profile:
            profile.enable()
        report = collector.run()
        if arguments.profile:
            profile.disable()
        cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_record_us = cpu / report.records * 1e6 if report.records else 0.0
    if arguments.json:
        figures = {
            "payload": arguments.payload,
            "records": report.records,
            "encoder": report.encoder,
            "status": report.status,
            "profiled": arguments.profile,
            "cpu_seconds": round(cpu, 4),
            "us_per_record": round(per_record_us, 3),
            "peak_rss_mib": round(peak, 1),
            "above_records_mib": round(peak - before, 1),
            "bytes_out": report.bytes_out,
        }
        print(json.dumps(figures))
    else:
        print(
            f"{report.records:,} {arguments.payload} ({report.status}, {report.encoder} "
            f"encoder): {per_record_us:.2f} µs CPU "
            f"per record, every thread{' (profiled)' if arguments.profile else ''}; "
            f"peak RSS {peak:.0f} MiB, {peak - before:.0f} MiB above the records in memory; "
            f"{report.bytes_out:,} bytes stored"
        )
    if arguments.profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(14)
    return 0 if report.status == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
