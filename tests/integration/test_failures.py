"""What must hold when things go wrong: nothing lost, nothing committed past what is stored."""

from __future__ import annotations

import pytest
from kafka.structs import TopicPartition

from handler.chain.checkpoints import read_checkpoint
from handler.engine.collector import run
from handler.errors import ConfigError
from handler.stores.local import LocalStore
from handler.stores.s3 import S3Store
from tests.integration.test_collect import end_offsets, log_lines
from tests.support.fault_proxy import every, proxied
from tests.support.fixtures import over_clients
from tests.support.reconcile import Produced, committed, produce, reconcile, stored_records


@over_clients
def test_retention_passed_the_commit_fails_loudly_then_skip_accepts(
    topic_factory, producer, settings_factory, admin
) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, log_lines(100, 1))
    settings = settings_factory(topics=(topic,), max_records=10)
    assert run(settings).records == 10
    admin.delete_records({TopicPartition(topic, 0): 50})

    failed = run(settings.model_copy(update={"max_records": None}))

    assert failed.status == "failed" and failed.records == 0
    part = failed.partitions[0]
    assert (part.status, part.lost_offsets) == ("data_loss", 40)
    assert "40 offsets (10..49) were deleted" in failed.errors[0]
    assert "KAFKA_BEAT_ON_DATA_LOSS=skip" in failed.errors[0]
    assert committed(admin, settings.group_id) == {(topic, 0): 10}

    accepted = run(settings.model_copy(update={"max_records": None, "on_data_loss": "skip"}))

    assert accepted.status == "ok" and accepted.records == 50
    assert accepted.partitions[0].lost_offsets == 40
    checkpoint = read_checkpoint(LocalStore(settings.target().path), topic, 0)
    assert checkpoint is not None and checkpoint.gaps == ((10, 50),)  # a known gap
    survivors = {pos: item for pos, item in produced.items() if pos[2] < 10 or pos[2] >= 50}
    reconcile(survivors, stored_records(LocalStore(settings.target().path)))
    assert committed(admin, settings.group_id) == {(topic, 0): 100}


@over_clients
def test_odd_payloads_round_trip_through_the_broker(
    topic_factory, producer, settings_factory
) -> None:
    topic = topic_factory(partitions=1)
    items = [
        Produced(b"tombstone", None),
        Produced(None, b"no key"),
        Produced(b"\x00\xff\xfe", b"\x80\x81 not utf-8"),
        Produced(b"k", b'{"big": 123456789012345678901234567890}'),
        Produced(b"k", b'{"dup": 1, "dup": 2}'),
        Produced(b"k", b'  {\n"pretty": [1, 2.5, null]\n}  '),
        Produced(b"k", b"", (("h", b"\xff"), ("h", b"dup"), ("empty", b""))),
        Produced("clé".encode(), "välue ✓".encode(), (("trace", "✓".encode()),)),
    ]
    produced = produce(producer, topic, [(0, item) for item in items])
    settings = settings_factory(topics=(topic,))

    assert run(settings).records == len(items)

    reconcile(produced, stored_records(LocalStore(settings.target().path)))


def test_upload_failing_for_good_blocks_only_that_partition(
    topic_factory, producer, settings_factory, bucket_factory, s3_server, s3_client, admin
) -> None:
    topic = topic_factory(partitions=3)
    produced = produce(producer, topic, log_lines(600, 3))
    bucket = bucket_factory()
    with proxied(
        s3_server.port, [every("PUT", r"(\+|%2B)1(\+|%2B)\d+\.jsonl\.gz", status=503)]
    ) as proxy:
        settings = settings_factory(
            topics=(topic,),
            destination=f"s3://{bucket}/x",
            s3_endpoint_url=proxy.endpoint,
            upload_attempts=3,
            max_object_records=100,
        )
        report = run(settings)

    assert report.status == "failed" and proxy.faults == 3
    by_partition = {part.partition: part for part in report.partitions}
    assert by_partition[1].status == "failed" and "SlowDown" in (by_partition[1].error or "")
    # Partition 1 stays at its start: pinned there (so `latest` could not skip it later),
    # never past what is stored.
    assert committed(admin, settings.group_id) == {(topic, 0): 200, (topic, 1): 0, (topic, 2): 200}

    healed = run(settings.model_copy(update={"s3_endpoint_url": s3_server.endpoint}))

    assert healed.status == "ok" and healed.records == 200
    reconcile(produced, stored_records(S3Store(s3_client, bucket, "x"), "x/"))
    assert committed(admin, settings.group_id) == end_offsets(produced)


def test_transient_upload_faults_are_retried(
    topic_factory, producer, settings_factory, bucket_factory, s3_server, s3_client, admin
) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, log_lines(1000, 2))
    bucket = bucket_factory()
    with proxied(
        s3_server.port,
        [
            every("PUT", r"\.jsonl", status=503, probability=0.15),
            every("PUT", r"\.jsonl", status=500, probability=0.1),
            every("PUT", r"\.jsonl", drop_connection=True, probability=0.1),
        ],
        seed=11,
    ) as proxy:
        settings = settings_factory(
            topics=(topic,),
            destination=f"s3://{bucket}",
            s3_endpoint_url=proxy.endpoint,
            upload_attempts=12,
            max_object_records=50,
        )
        report = run(settings)

    assert report.status == "ok", report.errors
    assert proxy.faults > 5
    reconcile(produced, stored_records(S3Store(s3_client, bucket, "")))
    assert committed(admin, settings.group_id) == end_offsets(produced)


def test_lost_response_is_recognised_as_our_own_write(
    topic_factory, producer, settings_factory, bucket_factory, s3_server, s3_client, admin
) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, log_lines(300, 1))
    bucket = bucket_factory()
    # The first PUT of every object reaches S3, but its answer is lost; the retry sees 412.
    with proxied(
        s3_server.port, [every("PUT", r"\.jsonl", after_forwarding=True, probability=0.5)], seed=3
    ) as proxy:
        settings = settings_factory(
            topics=(topic,),
            destination=f"s3://{bucket}",
            s3_endpoint_url=proxy.endpoint,
            max_object_records=30,
        )
        report = run(settings)

    assert report.status == "ok", report.errors
    assert proxy.faults > 0 and report.objects == 10 and report.records == 300
    reconcile(produced, stored_records(S3Store(s3_client, bucket, "")))


def test_store_that_overwrites_is_refused_unless_at_least_once(
    topic_factory, producer, settings_factory, bucket_factory, s3_server, s3_client
) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, log_lines(50, 1))
    bucket = bucket_factory()
    with proxied(s3_server.port, strip_headers=("If-None-Match",)) as proxy:
        settings = settings_factory(
            topics=(topic,), destination=f"s3://{bucket}/p", s3_endpoint_url=proxy.endpoint
        )
        with pytest.raises(ConfigError, match="KAFKA_BEAT_DELIVERY=at_least_once"):
            run(settings)
        assert not stored_records(S3Store(s3_client, bucket, "p"), "p/")
        report = run(settings.model_copy(update={"delivery": "at_least_once"}))
    assert report.status == "ok"
    reconcile(produced, stored_records(S3Store(s3_client, bucket, "p"), "p/"))
