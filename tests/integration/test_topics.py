"""Transactional and compacted topics: the chain follows record offsets, not counts, and the
run ends at the end offset without waiting past the last stable offset — with each client."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer

from handler.engine.collector import run
from handler.stores.local import LocalStore
from tests.support.fixtures import CLIENTS
from tests.support.reconcile import Produced, committed, reconcile, stored_records

pytestmark = pytest.mark.parametrize("kafka_client", CLIENTS)


def test_aborted_transactions_are_never_stored(
    topic_factory, bootstrap, settings_factory, admin
) -> None:
    topic = topic_factory(partitions=2)
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    producer.init_transactions()
    produced: dict = {}
    for batch in range(6):
        producer.begin_transaction()
        futures = [
            (
                producer.send(
                    topic,
                    key=b"k",
                    value=f'{{"batch": {batch}, "n": {n}}}'.encode(),
                    partition=n % 2,
                ),
                n,
            )
            for n in range(40)
        ]
        producer.flush()
        if batch % 3 == 1:
            producer.abort_transaction()
            continue
        producer.commit_transaction()
        for future, n in futures:
            meta = future.get(timeout=10)
            produced[(topic, meta.partition, meta.offset)] = Produced(
                b"k", f'{{"batch": {batch}, "n": {n}}}'.encode()
            )
    producer.close()
    settings = settings_factory(topics=(topic,), max_object_records=30)

    started = time.monotonic()
    report = run(settings)

    assert report.status == "ok" and report.records == len(produced) == 160, (
        report.stop_reason,
        report.partitions,
    )
    assert time.monotonic() - started < 30  # it did not wait for a fetch past the markers
    reconcile(produced, stored_records(LocalStore(settings.target().path)))
    # The commit is a chain position: the last stored record + 1, before the final marker.
    last = {p: max(o for (_, part, o) in produced if part == p) for p in (0, 1)}
    assert committed(admin, settings.group_id) == {(topic, p): last[p] + 1 for p in (0, 1)}
    again = run(settings)
    assert again.status == "ok" and again.records == 0 and again.stop_reason == "caught_up"


def test_compacted_topic_gaps_and_tombstones(
    topic_factory, producer, bootstrap, settings_factory
) -> None:
    topic = topic_factory(
        partitions=1,
        configs={
            "cleanup.policy": "compact",
            "segment.ms": "100",
            "min.cleanable.dirty.ratio": "0.001",
            "min.compaction.lag.ms": "0",
            "delete.retention.ms": "3600000",
        },
    )
    for round_number in range(5):
        for key in range(20):
            value = None if (key == 3 and round_number == 4) else f"v{round_number}".encode()
            producer.send(topic, key=f"key-{key}".encode(), value=value, partition=0)
        producer.flush()
        time.sleep(0.3)  # let segments roll so the cleaner may compact them
    survivors = wait_for_compaction(bootstrap, topic, produced_total=100)
    settings = settings_factory(topics=(topic,), max_object_records=7)

    report = run(settings)

    assert report.status == "ok" and report.records == len(survivors)
    reconcile(survivors, stored_records(LocalStore(settings.target().path)))
    assert any(item.value is None for item in survivors.values())  # a tombstone, kept as null
    assert report.partitions[0].end_offset == max(o for (_, _, o) in survivors) + 1


def wait_for_compaction(bootstrap: str, topic: str, produced_total: int) -> dict:
    """What the log holds once the cleaner has removed some records (at most 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=1500,
            enable_auto_commit=False,
        )
        held = {(r.topic, r.partition, r.offset): Produced(r.key, r.value) for r in consumer}
        consumer.close()
        if 0 < len(held) < produced_total:
            return held
        time.sleep(1)
    raise AssertionError("the log cleaner did not compact the topic within 60 s")
