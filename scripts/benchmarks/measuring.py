"""Measuring a workload (or a group of them): every consumer once per repetition, interleaved,
and the medians."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable
from typing import Any

from . import progress, sections
from .machine import Watch
from .peers import Peers
from .runs import RAW_CONFLUENT, Bench, Sample
from .sections import OWN_COST, SECTIONS
from .workloads import CONNECT_LABEL, KCAT_PIPES, Workload


def medians(samples: list[Sample]) -> dict[str, float]:
    good = [s.figures for s in samples if s.error is None and s.figures]
    keys = sorted({key for figures in good for key in figures})
    return {key: round(statistics.median(f[key] for f in good if key in f), 3) for key in keys}


Step = tuple[str, Callable[[int], Sample]]


def _steps(bench: Bench, peers: Peers | None, workload: Workload) -> list[Step]:
    steps: list[Step] = []
    if workload.java:
        steps.append(("java", lambda r: bench.java(workload, r)))
    if workload.raw:
        steps.append(("raw-crc-on", lambda r: bench.raw(workload, r, True)))
    if workload.crc_off:
        steps.append(("raw-crc-off", lambda r: bench.raw(workload, r, False)))
    if workload.raw_confluent:
        steps.append((RAW_CONFLUENT, lambda r: bench.raw(workload, r, True, "confluent")))
    for beat in workload.beats:
        if beat.destination == "s3" and bench.s3_endpoint is None:
            continue
        if beat.latency_ms and bench.slow_s3_endpoint is None:
            continue
        steps.append((beat.label, functools.partial(bench.beat, workload, beat)))
    if workload.peers and peers is not None:
        if peers.kcat_ready():
            for pipe in KCAT_PIPES:
                steps.append((pipe.label, functools.partial(peers.kcat, workload, pipe)))
        if peers.connect_ready():
            steps.append((CONNECT_LABEL, functools.partial(peers.connect, workload)))
    if workload.codec_levels:
        steps.append(("codec-levels", lambda r: sections.codec_levels(bench, workload, r)))
    if workload.startup:
        steps.append(("startup", lambda r: sections.startup(bench, workload, r)))
    if workload.own_cost:
        steps.append((OWN_COST, lambda r: sections.own_cost(bench, workload, r)))
    return steps


def measure(
    bench: Bench,
    peers: Peers | None,
    group: list[Workload],
    counts: dict[str, int],
    settle_seconds: float,
) -> dict[str, dict[str, Any]]:
    """One workload, or a group of them measured together; `counts` gives the repetitions of
    each; `peers` None: without the peers' rows. Interleaved: each repetition runs every
    consumer of every workload once, so drift hits all alike, and a group's workloads take
    turns going first."""
    steps = {w.name: _steps(bench, peers, w) for w in group}
    samples = {w.name: {label: [] for label, _ in steps[w.name]} for w in group}
    for repetition in range(max(counts.values())):
        for workload in group if repetition % 2 == 0 else group[::-1]:
            if repetition >= counts[workload.name]:
                continue
            for label, step in steps[workload.name]:
                waited = bench.watch.settle(settle_seconds)
                before = bench.watch.snapshot()
                sample = step(repetition)
                sample.figures["others_cores"] = Watch.others_cores(before, bench.watch.snapshot())
                if settle_seconds:
                    sample.figures["settle_seconds"] = round(waited, 1)
                samples[workload.name][label].append(sample)
                total = counts[workload.name]
                progress(f"[{workload.name} {repetition + 1}/{total}] {_line(sample)}")
    return {w.name: _flow(bench, w, counts[w.name], samples[w.name]) for w in group}


def _flow(
    bench: Bench, workload: Workload, repetitions: int, samples: dict[str, list[Sample]]
) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "topic": workload.topic,
        "description": workload.describe(),
        "payload": workload.payload,
        "purpose": workload.purpose,
        "value_format": workload.value_format,
        "records": bench.expected[workload.topic],
        "repetitions": repetitions,
        "runs": {},
    }
    for label, runs in samples.items():
        entry = {
            "median": medians(runs),
            "samples": [
                {"repetition": s.repetition, "figures": s.figures, "error": s.error} for s in runs
            ],
        }
        if label in SECTIONS:
            flow[label] = entry
        else:
            flow["runs"][label] = entry
    return flow


def _line(sample: Sample) -> str:
    f = sample.figures
    if sample.error:
        return f"{sample.label}: FAILED {sample.error.splitlines()[0] if sample.error else ''}"
    if sample.label in SECTIONS:
        return f"{sample.label}: " + ", ".join(f"{k} {v}" for k, v in f.items())
    return (
        f"{sample.label}: {f.get('records_per_second', 0):,.0f} rec/s, "
        f"{f.get('mb_per_second', 0):.1f} MB/s, {f.get('cpu_seconds_per_million', 0):.1f} "
        f"CPU s/M, RSS {f.get('peak_rss_mib', 0):.0f} MiB, {f.get('seconds', 0):.2f} s, "
        f"others {f.get('others_cores', 0):.2f} cores"
    )
