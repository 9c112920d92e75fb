"""Throughput, CPU, memory and start-up of Kafka Beat against its ceilings, side by side.

One command starts a local broker (or uses one), fills the benchmark topics once, and then, per
workload and repetition, measures in separate processes:

- the Java ceiling: Apache Kafka's ConsumerPerformance from the broker's own jars;
- the raw ceiling: kafka-python's bare consume loop, with Kafka Beat's consumer settings, in
  assign mode up to the end offsets seen at start (CRC checks on, and off for comparison);
- Kafka Beat: `python -m handler` full runs (fetch, encode, compress, store, commit) to a local
  directory and to a moto S3 server, gzip and zstd, on kafka-python and on confluent-kafka,
  explicit partitions (group mode where a row says so), a fresh group and a fresh destination
  prefix each time so every run reads the whole backlog; also gzip at level 1, S3 behind a
  proxy that holds each request 20 ms (latency_proxy), and the pure-Python encoder beside the
  native one (each run's summary must name the encoder its row measures);
- the peers (--no-peers skips them): kcat piped into `zstd -1` and into `gzip`, and Kafka
  Connect's FileStream sink in standalone mode (its jars fetched like the broker's);
- the codecs alone, gzip and zstd at several levels, on the payload lines;
- start-up: import time, spawn to the first object stored and spawn to exit with a one-record
  budget, each client in assign and in group mode (and kafka-python to S3); a short scheduled
  run (200k records, group mode) timed spawn to exit on each client;
- Kafka Beat's own CPU per record without a broker (own_cost), each encoder, log lines and
  4 KB documents;
- records of 9-9.5 MB (a topic taking 10 MiB): the peak RSS of each client's raw loop and of
  Kafka Beat on each;
- dead letters (only when --workloads names them): Kafka Beat with values read as JSON on
  the same volume all valid and with about half the records not JSON, interleaved, and the
  dead-letter and data objects each run stored.

The figures are medians over the repetitions; the Markdown goes to stdout (and --markdown), all
samples to JSON (--json). Repetitions interleave the runs so drift on a shared machine hits
every column alike.

Run it as `scripts/bench` (which runs `python -m scripts.benchmarks` from the repository root). The
modules, in the order a run uses them: workloads (what is measured), payloads and topics
(filling the topics), services (the broker, moto and latency_proxy in front of it), processes
and machine (spawning the measured processes, the kernel's figures for them, and the CPU others
use meanwhile), runs, peers and parsing (one measured run of each consumer), sections
(start-up, the codecs' levels, own cost), measuring (the repetitions and their medians), target,
figures and overheads (the targets: throughput and CPU; memory, start-up and own cost),
lambda_cost, markdown (the tables) and cli.
programs/ holds the scripts the benchmark runs as child processes.
"""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPTS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = SCRIPTS_DIR.parent


class BenchError(RuntimeError):
    """A step of the benchmark itself failed (not a figure missing its target)."""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
