"""End-to-end runs on the real broker: every record stored once, offsets committed after —
with each Kafka client."""

from __future__ import annotations

import random

import pytest

from handler.engine.budget import Budget
from handler.engine.collector import run
from handler.stores.local import LocalStore
from handler.stores.s3 import S3Store
from tests.support.fixtures import CLIENTS
from tests.support.reconcile import Produced, committed, produce, reconcile, stored_records

pytestmark = pytest.mark.parametrize("kafka_client", CLIENTS)


def log_lines(count: int, partitions: int, seed: int = 7) -> list[tuple[int, Produced]]:
    rng = random.Random(seed)
    return [
        (
            index % partitions,
            Produced(
                key=f"host-{rng.randrange(50)}".encode(),
                value=f'{{"seq": {index}, "user": "u{rng.randrange(999)}", "ok": true}}'.encode(),
                headers=(("source", b"fw-01"),),
            ),
        )
        for index in range(count)
    ]


def end_offsets(produced: dict) -> dict[tuple[str, int], int]:
    ends: dict[tuple[str, int], int] = {}
    for topic, partition, offset in produced:
        ends[(topic, partition)] = max(ends.get((topic, partition), 0), offset + 1)
    return ends


def test_full_run_to_local_directory(topic_factory, producer, settings_factory, admin) -> None:
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(2000, 4))
    settings = settings_factory(topics=(topic,), max_object_records=300)

    report = run(settings)

    assert report.status == "ok", report.errors
    assert report.records == 2000 and report.stop_reason == "caught_up"
    store = LocalStore(settings.target().path)
    reconcile(produced, stored_records(store))
    assert committed(admin, settings.group_id) == end_offsets(produced)
    assert report.objects == sum(len(p.objects) for p in report.partitions) == 4 * 2
    assert all(p.lag == 0 and p.status == "done" for p in report.partitions)


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_full_run_to_s3(
    topic_factory,
    producer,
    settings_factory,
    bucket_factory,
    s3_server,
    s3_client,
    admin,
    compression,
) -> None:
    topic = topic_factory(partitions=3)
    produced = produce(producer, topic, log_lines(900, 3))
    bucket = bucket_factory()
    settings = settings_factory(
        topics=(topic,),
        destination=f"s3://{bucket}/raw/events",
        s3_endpoint_url=s3_server.endpoint,
        compression=compression,
        max_object_records=250,
    )

    report = run(settings)

    assert report.status == "ok", report.errors
    store = S3Store(s3_client, bucket, "raw/events")
    reconcile(produced, stored_records(store, "raw/events/"))
    assert committed(admin, settings.group_id) == end_offsets(produced)
    some_key = report.partitions[0].objects[0]
    assert some_key.startswith(f"raw/events/{topic}/dt=")
    head = s3_client.head_object(Bucket=bucket, Key=some_key)
    assert head["Metadata"]["kb-start"] == "0" and int(head["Metadata"]["kb-records"]) == 250


def test_explicit_partitions_commit_to_the_group(
    topic_factory, producer, settings_factory, admin
) -> None:
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(400, 4))
    settings = settings_factory(partitions=f"{topic}:1-2")

    report = run(settings)

    assert report.status == "ok", report.errors
    wanted = {pos: item for pos, item in produced.items() if pos[1] in (1, 2)}
    reconcile(wanted, stored_records(LocalStore(settings.target().path)))
    assert committed(admin, settings.group_id) == end_offsets(wanted)


def test_record_budget_then_reruns_continue_exactly(
    topic_factory, producer, settings_factory, admin
) -> None:
    topic = topic_factory(partitions=3)
    produced = produce(producer, topic, log_lines(1000, 3))
    settings = settings_factory(topics=(topic,), max_records=170, max_object_records=60)

    totals = []
    for _ in range(10):
        report = run(settings)
        assert report.status == "ok", report.errors
        totals.append(report.records)
        if report.records == 0:
            break
    assert totals[:5] == [170] * 5 and sum(totals) == 1000 and totals[-1] == 0
    reconcile(produced, stored_records(LocalStore(settings.target().path)))
    assert committed(admin, settings.group_id) == end_offsets(produced)


def test_time_budget_stops_and_the_rest_follows(topic_factory, producer, settings_factory) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, log_lines(30000, 2))
    settings = settings_factory(topics=(topic,), max_records=None)
    ticks = iter(range(10**6))

    # A clock that advances one second per reading runs out mid-backlog, deterministically.
    report = run(settings, Budget(max_seconds=6, clock=lambda: float(next(ticks))))

    assert report.status == "ok" and report.stop_reason == "max_seconds"
    assert 0 < report.records < 30000
    follow_up = run(settings)
    assert report.records + follow_up.records == 30000
    reconcile(produced, stored_records(LocalStore(settings.target().path)))


def test_nothing_new_exits_fast(topic_factory, producer, settings_factory) -> None:
    topic = topic_factory(partitions=2)
    produce(producer, topic, log_lines(10, 2))
    settings = settings_factory(topics=(topic,), max_seconds=120)
    assert run(settings).records == 10

    again = run(settings)

    assert again.status == "ok" and again.records == 0 and again.objects == 0
    assert again.stop_reason == "caught_up" and again.duration_seconds < 60


def test_empty_topic_commits_the_start(topic_factory, settings_factory, admin) -> None:
    topic = topic_factory(partitions=2)
    settings = settings_factory(topics=(topic,))
    report = run(settings)
    assert report.status == "ok" and report.records == 0
    assert committed(admin, settings.group_id) == {(topic, 0): 0, (topic, 1): 0}


def test_producer_writing_during_the_run_does_not_extend_it(
    topic_factory, producer, settings_factory
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(500, 1))
    settings = settings_factory(topics=(topic,), max_object_records=100)

    class Growing(Budget):
        def take(self, count: int) -> None:  # keep producing while the run consumes
            super().take(count)
            if self.records_taken % 100 == 0:
                producer.send(topic, value=b'{"late": true}', partition=0)
                producer.flush()

    report = run(settings, Growing())
    assert report.status == "ok" and report.records == 500
    assert report.partitions[0].end_offset == 500 == report.partitions[0].end_offset_at_start
