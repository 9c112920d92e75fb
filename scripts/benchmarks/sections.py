"""The sections: samples measured once per repetition like the runs, but shown as tables of
their own: start-up (each client, each mode), the codecs alone at each level, and Kafka Beat's
own cost per record without a broker (benchmarks.own_cost), each encoder."""

from __future__ import annotations

import json
import sys

from .parsing import first_object_time, import_seconds, run_summary
from .payloads import payload_file
from .processes import PROGRAMS_DIR, child_env
from .runs import Bench, Sample, wrong_encoder
from .workloads import (
    LOCAL_ZSTD,
    LOCAL_ZSTD_CONFLUENT,
    LOCAL_ZSTD_GROUP,
    LOCAL_ZSTD_GROUP_CONFLUENT,
    S3_ZSTD,
    Beat,
    Encoder,
    Workload,
)

CODEC_LEVELS_PROGRAM = PROGRAMS_DIR / "codec_levels.py"
CODEC_LEVELS = [["gzip", 1], ["gzip", 3], ["gzip", 6], ["gzip", 9], ["zstd", 1], ["zstd", 3]]
CODEC_LEVELS_BYTES = 32_000_000
OWN_COST = "own-cost"
OWN_COST_PAYLOADS = {"log": "logs", "doc": "docs"}
"""own_cost's --payload for a workload's payload kind."""
OWN_COST_RECORDS = {"logs": 12_500, "docs": 1_250}
"""own_cost's records per partition: 100,000 log lines or 10,000 documents in 8 partitions
(it makes them in memory first, at about 40 µs a log line and 350 µs a document)."""
STARTUP_BEATS = (
    LOCAL_ZSTD,
    LOCAL_ZSTD_GROUP,
    LOCAL_ZSTD_CONFLUENT,
    LOCAL_ZSTD_GROUP_CONFLUENT,
    S3_ZSTD,
)
"""Start-up: each client in each mode to the local directory, kafka-python assigned to S3."""
SECTIONS = ("startup", "codec-levels", OWN_COST)
"""Samples measured once per repetition like the runs, but shown as tables of their own."""


def startup_column(beat: Beat) -> str:
    """The suffix of a start-up run's figures: local (kafka-python, assign), local_group,
    local_confluent, local_confluent_group, s3."""
    client = ["confluent"] if beat.client == "confluent" else []
    mode = ["group"] if beat.mode == "group" else []
    return "_".join([beat.destination, *client, *mode])


def startup(bench: Bench, workload: Workload, repetition: int) -> Sample:
    """Import time, and spawn → first object stored and spawn → exit with a one-record
    budget (the first an upper bound of spawn → first record fetched: it adds encoding and
    storing one record), for each client in each mode to the local directory, and for
    kafka-python (assign) to S3. Odd repetitions take them in the reverse order."""
    sample = Sample("startup", repetition)
    figures: dict[str, float] = {}
    bare = bench.launcher.run([sys.executable, "-c", "pass"], child_env(), bench.cwd, 60)
    figures["interpreter_seconds"] = round(bare.seconds, 3)
    beats = [b for b in STARTUP_BEATS if b.destination == "local" or bench.s3_endpoint]
    for beat in beats if repetition % 2 == 0 else beats[::-1]:
        column = startup_column(beat)
        # Imports do not depend on the mode: profiled once per client and destination.
        for profile in (False, True) if beat.mode == "assign" else (False,):
            env, run = bench.beat_env(workload, beat, KAFKA_BEAT_MAX_RECORDS="1")
            command = [sys.executable, *(["-X", "importtime"] if profile else [])]
            try:
                child = bench.launcher.run([*command, "-m", "handler"], env, bench.cwd, 120)
            finally:
                bench.clean(beat.destination, run)
            if profile:
                figures[f"import_seconds_{column}"] = round(import_seconds(child.stderr), 3)
                continue
            first = first_object_time(child.stderr)
            summary = run_summary(child)
            if first is None or summary is None or summary["records"] != 1:
                sample.error = f"start-up run ({column}) exit {child.returncode}:\n" + (
                    child.tail()
                )
                return sample
            mismatch = wrong_encoder(beat, summary)
            if mismatch:
                sample.error = f"start-up run ({column}): {mismatch}"
                return sample
            figures[f"first_object_seconds_{column}"] = round(first - child.spawned_at, 3)
            figures[f"exit_seconds_{column}"] = round(child.seconds, 3)
            figures[f"peak_rss_mib_{column}"] = round(child.peak_rss_mib, 1)
    sample.figures = figures
    return sample


def own_cost(bench: Bench, workload: Workload, repetition: int) -> Sample:
    """Kafka Beat's own CPU per record without a broker (benchmarks.own_cost: a whole run
    over kafka-python's records in memory), on the workload's payload, with each encoder;
    odd repetitions take the Python encoder first."""
    sample = Sample(OWN_COST, repetition)
    payload = OWN_COST_PAYLOADS[workload.payload]
    per_partition = min(OWN_COST_RECORDS[payload], max(1, workload.records // workload.partitions))
    encoders: tuple[Encoder, ...] = ("native", "python")
    for encoder in encoders if repetition % 2 == 0 else encoders[::-1]:
        command = [sys.executable, "-m", "scripts.benchmarks.own_cost", "--json"]
        command += ["--payload", payload, "--encoder", encoder]
        command += ["--partitions", str(workload.partitions), "--records", str(per_partition)]
        child = bench.launcher.run(command, child_env(), bench.cwd, 600)
        try:
            result = json.loads(child.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            sample.error = f"own_cost ({encoder}) exit {child.returncode}:\n{child.tail()}"
            return sample
        if result["status"] != "ok" or result["encoder"] != encoder:
            sample.error = (
                f"own_cost --encoder {encoder}: status {result['status']}, "
                f"the {result['encoder']} encoder"
            )
            return sample
        sample.figures[f"{encoder}_us_per_record"] = result["us_per_record"]
        sample.figures[f"{encoder}_records"] = result["records"]
        sample.figures[f"{encoder}_peak_rss_mib"] = result["peak_rss_mib"]
    return sample


def codec_levels(bench: Bench, workload: Workload, repetition: int) -> Sample:
    """The codecs alone at each level (programs/codec_levels.py) on the workload's payload
    lines: what a level costs and saves, apart from everything else a run does."""
    sample = Sample("codec-levels", repetition)
    config = {
        "payload": str(payload_file(workload.payload, workload.records, bench.work_dir)),
        "bytes": CODEC_LEVELS_BYTES,
        "levels": CODEC_LEVELS,
    }
    command = [sys.executable, str(CODEC_LEVELS_PROGRAM), json.dumps(config)]
    child = bench.launcher.run(command, child_env(), bench.cwd, 600)
    try:
        results = json.loads(child.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        sample.error = f"codec_levels.py exit {child.returncode}:\n{child.tail()}"
        return sample
    for row in results:
        name = f"{row['codec']}-{row['level']}"
        sample.figures[f"{name}_mb_per_second"] = row["mb_per_second"]
        sample.figures[f"{name}_ratio"] = row["ratio"]
    return sample
