"""A run stopped by SIGTERM partway, measured on the real broker: how soon it exits, whether
everything it stored is committed, and what the next run has to do again.

    PYTHONPATH=. .venv/bin/python -m scripts.benchmarks.stop_signal [--records 600000]
        [--partitions 4] [--stop-after 4] [--client kafka-python|confluent] [--bootstrap H:P]

It fills a fresh topic, starts `python -m handler` in group mode to a local directory, sends it
SIGTERM `--stop-after` seconds after it started, and waits for it; then a second run collects
the rest. It prints: the records produced; the stopped run's exit code and seconds from the
signal to its exit (against its grace); the records it stored and committed (from its summary,
checked against storage and the group's offsets); what the next run adopted and read again of
what the stopped run stored; and, reading every stored object back, the records lost and
duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import REPO_ROOT, progress
from .services import broker

_GRACE_SECONDS = 20.0


def _fill(bootstrap: str, topic: str, records: int, partitions: int) -> dict[int, int]:
    """A fresh topic with `records` log lines spread over its partitions; its end offsets."""
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.structs import TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics(
        {topic: {"num_partitions": partitions, "replication_factor": 1}}, wait_for_metadata=True
    )
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024, acks=1
    )
    for index in range(records):
        value = (
            f'{{"seq": {index}, "host": "fw-{index % 50:02d}", "user": "u{index % 997}", '
            f'"action": "login", "ok": {"true" if index % 7 else "false"}}}'
        )
        producer.send(
            topic, value=value.encode(), key=b"k%d" % (index % 50), partition=index % partitions
        )
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    ends = consumer.end_offsets(tps)
    consumer.close()
    return {tp.partition: ends[tp] for tp in tps}


def _env(settings: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_BEAT_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update({f"KAFKA_BEAT_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def _summary(stdout: str) -> dict[str, Any] | None:
    lines = stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def _stored(destination: Path) -> Counter[tuple[int, int]]:
    """(partition, offset) of every record in every data object, with how often each is."""
    from handler.format.layout import is_dead_letter_key, is_state_key
    from handler.format.reading import stored_records
    from handler.stores.local import LocalStore

    store = LocalStore(destination)
    seen: Counter[tuple[int, int]] = Counter()
    for key in store.list_keys(""):
        if is_state_key(key) or is_dead_letter_key(key):
            continue
        with store.open(key) as raw:
            seen.update((record.partition, record.offset) for record in stored_records(key, raw))
    return seen


def _committed(bootstrap: str, group: str) -> dict[int, int]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        answer = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in answer.items() if meta.offset >= 0}


def measure(bootstrap: str, arguments: argparse.Namespace, work: Path) -> dict[str, Any]:
    topic = f"stop-signal-{int(time.time())}"
    progress(f"filling {topic}: {arguments.records:,} records in {arguments.partitions} partitions")
    ends = _fill(bootstrap, topic, arguments.records, arguments.partitions)
    destination = work / "out"
    group = f"g-{topic}"
    settings = {
        "bootstrap_servers": bootstrap,
        "group_id": group,
        "topics": topic,
        "destination": destination,
        "kafka_client": arguments.client,
        "stop_grace_seconds": _GRACE_SECONDS,
    }
    command = [sys.executable, "-m", "handler"]
    progress(f"a run, stopped with SIGTERM {arguments.stop_after:g} s after it started ...")
    run = subprocess.Popen(
        command,
        env=_env(settings),
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(arguments.stop_after)
    if run.poll() is not None:
        raise SystemExit("the run ended before the stop: raise --records or lower --stop-after")
    signalled = time.monotonic()
    run.send_signal(signal.SIGTERM)
    stdout, stderr = run.communicate(timeout=_GRACE_SECONDS + 30)
    exit_seconds = time.monotonic() - signalled
    stopped = _summary(stdout)
    if stopped is None:
        raise SystemExit(f"the stopped run printed no summary (exit {run.returncode}):\n{stderr}")
    committed_then = _committed(bootstrap, group)
    stopped_ends = {p["partition"]: p["end_offset"] for p in stopped["partitions"]}
    stored_then = _stored(destination)

    progress("the next run ...")
    started = time.monotonic()
    nxt = subprocess.run(
        command,
        env=_env(settings),
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    next_seconds = time.monotonic() - started
    after = _summary(nxt.stdout)
    if nxt.returncode != 0 or after is None:
        raise SystemExit(f"the next run failed (exit {nxt.returncode}):\n{nxt.stderr[-3000:]}")
    reread = sum(
        max(0, stopped_ends.get(p["partition"], 0) - p["start_offset"]) for p in after["partitions"]
    )
    seen = _stored(destination)
    expected = {(p, o) for p, end in ends.items() for o in range(end)}
    return {
        "records produced": sum(ends.values()),
        "stopped run: exit code": run.returncode,
        "stopped run: seconds from SIGTERM to exit": round(exit_seconds, 2),
        "stopped run: stop grace (seconds)": _GRACE_SECONDS,
        "stopped run: stop_reason, status": f"{stopped['stop_reason']}, {stopped['status']}",
        "stopped run: records stored (summary)": stopped["records"],
        "stopped run: records stored (read back)": sum(stored_then.values()),
        "stopped run: records committed (group offsets)": sum(committed_then.values()),
        "stopped run: everything stored committed": all(
            committed_then.get(partition, 0) == end for partition, end in stopped_ends.items()
        )
        and sum(committed_then.values()) == sum(stored_then.values()),
        "next run: records stored": after["records"],
        "next run: records adopted": sum(p["adopted_records"] for p in after["partitions"]),
        "next run: records re-read of what the stopped run stored": reread,
        "next run: seconds": round(next_seconds, 2),
        "lost": len(expected - set(seen)),
        "duplicated": sum(1 for count in seen.values() if count > 1),
        "committed at the end equals the end offsets": _committed(bootstrap, group) == ends,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.benchmarks.stop_signal")
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--stop-after", type=float, default=4.0, help="seconds into the run")
    parser.add_argument("--client", default="kafka-python", choices=["kafka-python", "confluent"])
    parser.add_argument("--bootstrap", help="a running broker (default: start one)")
    arguments = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="kafka-beat-stop-") as work,
        broker(arguments.bootstrap) as (bootstrap, _),
    ):
        results = measure(bootstrap, arguments, Path(work))
    width = max(len(name) for name in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value}")
    clean = results["lost"] == 0 and results["duplicated"] == 0
    return 0 if clean and results["stopped run: everything stored committed"] else 1


if __name__ == "__main__":
    sys.exit(main())
