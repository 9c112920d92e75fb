"""Exactly once whatever changes between a crash and the next run: every setting that shapes
object keys or contents, and records that compaction removes from under an orphan.

What stands at a chain position is found by its position record, a key made of topic,
partition and position alone; these runs would store records twice if the next run computed
that lookup from its own settings or from the first record it now finds there."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest
from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from handler.commands.verify import audit
from handler.stores.local import LocalStore
from handler.stores.s3 import S3Store
from tests.integration.test_collect import end_offsets
from tests.support import runs
from tests.support.reconcile import Produced, committed, produce, reconcile, stored_records

NOW_MS = int(time.time() * 1000)


def events_of_2020(count: int, hour: int = 0) -> list[tuple[int, Produced]]:
    """JSON events whose `ts` field is in 2020 while Kafka stamps them today."""
    return [
        (
            0,
            Produced(
                key=f"k{index}".encode(),
                value=json.dumps({"ts": f"2020-01-01T{hour:02d}:00:{index % 60:02d}Z", "n": index})
                .replace(" ", "")
                .encode(),
            ),
        )
        for index in range(count)
    ]


def assert_exactly_once(store: Any, location: str, produced: dict, admin: Any, group: str) -> None:
    reconcile(produced, stored_records(store, store.prefix))
    assert committed(admin, group) == end_offsets(produced)
    audits = audit(location, None)
    assert audits and all(item.healthy for item in audits), [item.line() for item in audits]


# Each pair is (the setting before the crash, the setting after it).
CHANGES = {
    "time_field_added": ({}, {"time_field": "ts"}),
    "time_field_removed": ({"time_field": "ts"}, {}),
    "compression": ({"compression": "gzip"}, {"compression": "zstd"}),
    "value_format": ({"value_format": "auto"}, {"value_format": "text"}),
    "isolation_level": ({}, {"isolation_level": "read_uncommitted"}),
    "rotation": ({"max_object_records": 300}, {"max_object_records": 70}),
    "format_to_parquet": ({}, {"format": "parquet", "compression": "zstd"}),
    "format_to_jsonl": ({"format": "parquet", "compression": "snappy"}, {}),
    # The client reads the same offsets; what it must not change is what the chain finds.
    "client_to_confluent": ({}, {"kafka_client": "confluent"}),
    "client_to_kafka_python": ({"kafka_client": "confluent"}, {}),
}


@pytest.mark.parametrize("failpoint", ["after_claim:1", "after_store:1", "before_commit:1"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_setting_changed_after_a_crash_stores_nothing_twice(
    change, failpoint, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    before, after = CHANGES[change]
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, events_of_2020(900))
    out = tmp_path / "out"
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        partitions=f"{topic}:0",
        destination=str(out),
    )
    killed = runs.start(
        tmp_path, failpoint=failpoint, **{"max_object_records": 300, **before}, **settings
    )
    code, summary, _ = runs.finish(killed)
    assert code == -signal.SIGKILL and summary is None

    # Records that come after the crash go into objects made with the new settings.
    produced |= produce(producer, topic, events_of_2020(100, hour=1))
    runs.catch_up(tmp_path, **{"max_object_records": 300, **after}, **settings)

    assert_exactly_once(LocalStore(out), str(out), produced, admin, f"g-{topic}")
    if "format" in before or "format" in after:
        extension = ".parquet" if after.get("format") == "parquet" else ".jsonl.gz"
        assert any(key.endswith(extension) for key in LocalStore(out).list_keys(""))


@pytest.mark.parametrize("failpoint", ["after_claim:1", "mid_upload:1", "after_store:1"])
def test_time_field_added_after_a_crash_on_s3(
    failpoint,
    topic_factory,
    producer,
    bootstrap,
    tmp_path,
    admin,
    bucket_factory,
    s3_server,
    s3_client,
) -> None:
    """The case as a user met it: the orphan is in today's folder, the next run looks in 2020."""
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, events_of_2020(1000))
    bucket = bucket_factory()
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        partitions=f"{topic}:0",
        destination=f"s3://{bucket}/tf",
        s3_endpoint_url=s3_server.endpoint,
    )
    code, _, _ = runs.finish(runs.start(tmp_path, failpoint=failpoint, **settings))
    assert code == -signal.SIGKILL

    summaries = runs.catch_up(tmp_path, time_field="ts", **settings)

    store = S3Store(s3_client, bucket, "tf")
    at_zero = [key for key in store.list_keys("tf/") if key.endswith(f"+0+{0:020d}.jsonl.gz")]
    assert len(at_zero) == 1, at_zero  # the crashed run's key, wherever its settings put it
    taken = sum(s["records"] + s["partitions"][0]["adopted_records"] for s in summaries)
    assert taken == 1000
    reconcile(produced, stored_records(store, store.prefix))
    assert committed(admin, f"g-{topic}") == end_offsets(produced)


def first_offset(bootstrap: str, topic: str) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        batches = consumer.poll(timeout_ms=2000, max_records=1)
        return next((records[0].offset for records in batches.values() if records), None)
    finally:
        consumer.close()


def wait_until_compacted(producer: Any, bootstrap: str, topic: str, key: bytes) -> None:
    """Supersede `key` and roll segments (one record a second) until offset 0 is gone."""
    producer.send(topic, key=key, value=b'{"superseded": true}', partition=0)
    deadline = time.monotonic() + 90
    tick = 0
    while time.monotonic() < deadline:
        producer.send(topic, key=f"tick-{tick}".encode(), value=b"{}", partition=0).get(30)
        tick += 1
        if (first_offset(bootstrap, topic) or 0) > 0:
            return
        time.sleep(1)
    raise AssertionError("the log cleaner did not remove offset 0 within 90 s")


COMPACTED = {
    "cleanup.policy": "compact",
    "segment.ms": "1000",
    "min.cleanable.dirty.ratio": "0.001",
    "min.compaction.lag.ms": "0",
}


@pytest.mark.parametrize("late_records", [False, True])
def test_compaction_removing_an_orphans_first_record(
    late_records, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    """A killed run stored [0, n) uncommitted; the cleaner removed offset 0 (its first record,
    which placed the object) before the next run, whose first record at position 0 is now
    offset 1 with another time. With late records, the orphan also holds records of an
    earlier hour than its folder, which a miss would store again."""
    topic = topic_factory(partitions=1, configs=COMPACTED)
    # Without late records the orphan is [0, 1), its one record in 2020; with them it is
    # [0, 101), placed by a record of this hour and holding 100 of the hour before.
    first_ms = NOW_MS if late_records else 1_577_836_800_000
    rest_ms = NOW_MS - 3_600_000 if late_records else NOW_MS
    sent = [
        producer.send(topic, key=b"first", value=b'{"n":0}', partition=0, timestamp_ms=first_ms)
    ]
    sent += [
        producer.send(
            topic, key=f"k{n}".encode(), value=b'{"n":%d}' % n, partition=0, timestamp_ms=rest_ms
        )
        for n in range(1, 101)
    ]
    producer.flush()
    out = tmp_path / "out"
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        partitions=f"{topic}:0",
        destination=str(out),
    )
    size = 200 if late_records else 1
    code, _, _ = runs.finish(
        runs.start(tmp_path, failpoint="after_store:1", max_object_records=size, **settings)
    )
    assert code == -signal.SIGKILL
    orphan = [key for key in LocalStore(out).list_keys("") if key.endswith(".jsonl.gz")]
    assert len(orphan) == 1

    wait_until_compacted(producer, bootstrap, topic, b"first")
    runs.catch_up(tmp_path, **settings)

    records = stored_records(LocalStore(out))
    offsets = [record.offset for record in records]
    assert len(offsets) == len(set(offsets)), "a record was stored twice"
    audits = audit(str(out), None)
    assert audits and all(item.healthy for item in audits), [item.line() for item in audits]
    expected = {future.get(30).offset for future in sent}
    assert expected <= set(offsets), sorted(expected - set(offsets))[:5]
