"""The Source contract (handler/kafka/source.py), one body per rule, run over every client on
the real broker: records byte for byte, end offsets at start, no silent reset, commits with
metadata, pause and seek, revocation, both modes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.structs import TopicPartition

from handler.config.values import PartitionRef
from handler.kafka.clients import open_source
from handler.kafka.source import PollResult, Source
from tests.support.fixtures import CLIENTS, unique
from tests.support.reconcile import Produced, committed, produce

pytestmark = pytest.mark.parametrize("kafka_client", CLIENTS)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def source_factory(settings_factory) -> Iterator[Callable[..., Source]]:
    opened: list[Source] = []

    def build(**values: Any) -> Source:
        opened.append(open_source(settings_factory(**values)))
        return opened[-1]

    yield build
    for source in opened:
        source.close()


def poll_until(
    source: Source, done: Callable[[PollResult], bool], seconds: float = 20
) -> list[PollResult]:
    """Poll until `done` says the results so far are enough; all of them."""
    results: list[PollResult] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        results.append(source.poll(0.5, None))
        if done(merge(results)):
            return results
    raise AssertionError(f"not done after {seconds} s: {merge(results)}")


def merge(results: list[PollResult]) -> PollResult:
    merged = PollResult()
    for result in results:
        for ref, records in result.records.items():
            merged.records.setdefault(ref, []).extend(records)
        merged.without_offset |= result.without_offset
        merged.out_of_range |= result.out_of_range
    return merged


def consume_all(source: Source, count: int) -> PollResult:
    return merge(poll_until(source, lambda r: sum(map(len, r.records.values())) >= count))


def assign(source: Source, positions: dict[PartitionRef, int]) -> None:
    """What a run does in assign mode: start, then seek every partition to its start."""
    source.start()
    for ref, offset in positions.items():
        source.seek(ref, offset)


def test_records_come_out_byte_for_byte(topic_factory, producer, source_factory) -> None:
    topic = topic_factory(partitions=1)
    items = [
        Produced(b"k", b"v", (("h", b"1"), ("h", b"dup"), ("empty", b""), ("h", b"2"))),
        Produced(None, b"no key"),
        Produced(b"tombstone", None),
        Produced(b"\x00\xff", bytes(range(256)), (("bin", b"\xff\xfe"),)),
    ]
    produced = produce(producer, topic, [(0, item) for item in items])
    source = source_factory(partitions=f"{topic}:0")
    assign(source, {PartitionRef(topic, 0): 0})

    records = consume_all(source, len(items)).records[PartitionRef(topic, 0)]

    assert [(r.topic, r.partition, r.offset) for r in records] == sorted(produced)
    for record in records:
        item = produced[(record.topic, record.partition, record.offset)]
        assert (record.key, record.value, record.headers) == (item.key, item.value, item.headers)
        assert (
            record.timestamp_type == "create" and abs(record.timestamp - time.time() * 1000) < 60e3
        )


def test_log_append_time_and_producer_timestamps(topic_factory, bootstrap, source_factory) -> None:
    appended = topic_factory(partitions=1, configs={"message.timestamp.type": "LogAppendTime"})
    created = topic_factory(partitions=1)
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send(appended, value=b"a", partition=0, timestamp_ms=1000)
    producer.send(created, value=b"c", partition=0, timestamp_ms=1764054000123)
    producer.flush()
    producer.close()
    source = source_factory(partitions=f"{appended}:0,{created}:0")
    assign(source, {PartitionRef(appended, 0): 0, PartitionRef(created, 0): 0})

    result = consume_all(source, 2).records

    [by_broker] = result[PartitionRef(appended, 0)]
    [by_producer] = result[PartitionRef(created, 0)]
    assert by_broker.timestamp_type == "log_append" and by_broker.timestamp > 1000
    assert (by_producer.timestamp_type, by_producer.timestamp) == ("create", 1764054000123)


@pytest.mark.parametrize("isolation_level", ["read_committed", "read_uncommitted"])
def test_end_offset_is_the_last_stable_offset_under_read_committed(
    isolation_level, topic_factory, producer, bootstrap, source_factory
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, [(0, Produced(b"k", b"%d" % n)) for n in range(5)])
    open_tx = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    open_tx.init_transactions()
    open_tx.begin_transaction()
    for n in range(3):
        open_tx.send(topic, value=b"pending %d" % n, partition=0)
    open_tx.flush()
    source = source_factory(topics=(topic,), isolation_level=isolation_level)

    bounds = source.log_bounds([PartitionRef(topic, 0)])

    open_tx.abort_transaction()
    open_tx.close()
    expected = 5 if isolation_level == "read_committed" else 8
    assert bounds == {PartitionRef(topic, 0): (0, expected)}


def test_position_passes_transaction_markers(topic_factory, bootstrap, source_factory) -> None:
    topic = topic_factory(partitions=1)
    tx = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    tx.init_transactions()
    for abort in (False, True):
        tx.begin_transaction()
        tx.send(topic, value=b"x", partition=0)
        tx.flush()
        tx.abort_transaction() if abort else tx.commit_transaction()
    tx.close()
    ref = PartitionRef(topic, 0)
    source = source_factory(partitions=f"{topic}:0")
    [(_, end)] = source.log_bounds([ref]).values()
    assert end == 4  # record, commit marker, aborted record, abort marker
    assign(source, {ref: 0})

    [record] = consume_all(source, 1).records[ref]
    poll_until(source, lambda _: source.position(ref) >= end, seconds=10)

    assert record.offset == 0 and source.position(ref) == end


def test_no_committed_offset_is_reported_not_reset(topic_factory, producer, source_factory) -> None:
    topic = topic_factory(partitions=2)
    produce(producer, topic, [(n % 2, Produced(b"k", b"%d" % n)) for n in range(10)])
    source = source_factory(topics=(topic,))
    source.start()

    results = poll_until(source, lambda r: len(r.without_offset) == 2)

    assert merge(results).without_offset == {PartitionRef(topic, 0), PartitionRef(topic, 1)}
    assert not merge(results).records  # nothing was read from a position the run did not choose
    source.seek(PartitionRef(topic, 0), 5)  # its end: nothing to read
    source.seek(PartitionRef(topic, 1), 3)
    later = consume_all(source, 2).records
    assert [r.offset for r in later[PartitionRef(topic, 1)]] == [3, 4]
    assert PartitionRef(topic, 0) not in later


@pytest.mark.parametrize("mode", ["assign", "group"])
def test_offset_deleted_by_retention_is_out_of_range(
    mode, topic_factory, producer, admin, source_factory
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, [(0, Produced(b"k", b"%d" % n)) for n in range(10)])
    ref = PartitionRef(topic, 0)
    group = unique("group")
    group_source = source_factory(topics=(topic,), group_id=group)
    group_source.commit({ref: 2}, "r1")
    group_source.close()
    admin.delete_records({TopicPartition(topic, 0): 6})
    values = {"partitions": f"{topic}:0"} if mode == "assign" else {"topics": (topic,)}
    source = source_factory(group_id=group, **values)
    if mode == "assign":
        assign(source, {ref: 2})
    else:
        source.start()

    results = poll_until(source, lambda r: bool(r.out_of_range))

    assert merge(results).out_of_range == {ref: 2} and not merge(results).records
    assert source.log_bounds([ref]) == {ref: (6, 10)}
    source.seek(ref, 6)  # what KAFKA_BEAT_ON_DATA_LOSS=skip does
    assert [r.offset for r in consume_all(source, 4).records[ref]] == [6, 7, 8, 9]


def test_commit_carries_the_run_id_and_is_read_back(
    kafka_client, topic_factory, producer, admin, source_factory
) -> None:
    topic = topic_factory(partitions=2)
    group = unique("group")
    source = source_factory(partitions=f"{topic}:0-1", group_id=group)
    ref0, ref1 = PartitionRef(topic, 0), PartitionRef(topic, 1)
    assert source.committed(ref0) is None

    source.commit({ref0: 7, ref1: 0}, "run-42")

    assert source.committed(ref0) == 7 and source.committed(ref1) == 0
    assert committed(admin, group) == {(topic, 0): 7, (topic, 1): 0}
    offsets = admin.list_group_offsets({group: None})[group]
    # confluent-kafka sends the metadata as a C string with its NUL (metadata_size is
    # strlen + 1; confluentinc/confluent-kafka-python#1410): readers see it.
    nul = "\x00" if kafka_client == "confluent" else ""
    assert {meta.metadata for meta in offsets.values()} == {f"kafka-beat run-42{nul}"}


def test_pause_and_seek(topic_factory, producer, source_factory) -> None:
    topic = topic_factory(partitions=2)
    produce(producer, topic, [(n % 2, Produced(b"k", b"%d" % n)) for n in range(20)])
    ref0, ref1 = PartitionRef(topic, 0), PartitionRef(topic, 1)
    source = source_factory(partitions=f"{topic}:0-1")
    assign(source, {ref0: 0, ref1: 5})
    first = consume_all(source, 15).records
    assert [r.offset for r in first[ref1]] == list(range(5, 10))

    source.seek(ref0, 8)
    source.pause(ref1)
    source.seek(ref1, 0)  # a paused partition stays paused where it is moved
    again = consume_all(source, 2).records
    time.sleep(1)
    again = merge([PollResult(records=again), source.poll(0.5, None)]).records

    assert [r.offset for r in again[ref0]] == [8, 9] and ref1 not in again
    assert source.assignment() == {ref0, ref1}


def test_group_mode_with_a_pattern_names_whole_topics(
    topic_factory, producer, admin, source_factory
) -> None:
    topic = topic_factory(partitions=2)
    admin.create_topics(
        {f"{topic}-dlq": {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True
    )
    source = source_factory(topic_pattern=topic.replace("topic", "t.pic"))
    source.start()

    poll_until(source, lambda _: bool(source.assignment()))

    assert source.assignment() == {PartitionRef(topic, 0), PartitionRef(topic, 1)}


def test_a_second_member_takes_partitions_away(topic_factory, producer, settings_factory) -> None:
    """Revocation: once a second member joins, each holds one partition, and `assignment`
    says which (the run stops taking records of a partition it lost)."""
    topic = topic_factory(partitions=2)
    settings = settings_factory(topics=(topic,))
    both = {PartitionRef(topic, 0), PartitionRef(topic, 1)}
    first = open_source(settings)
    second = open_source(settings)
    failures: list[BaseException] = []

    def hold_one(source: Source) -> None:
        try:
            poll_until(source, lambda _: len(source.assignment()) == 1, 60)
        except BaseException as exc:
            failures.append(exc)

    try:
        first.start()
        poll_until(first, lambda _: first.assignment() == both)
        second.start()
        members = [threading.Thread(target=hold_one, args=(s,)) for s in (first, second)]
        for member in members:
            member.start()
        for member in members:
            member.join(90)

        assert not failures, failures
        assert first.assignment() | second.assignment() == both
        assert not first.assignment() & second.assignment()
    finally:
        first.close()
        second.close()


def test_a_member_frozen_past_its_session_has_its_commit_rejected(
    topic_factory, bootstrap, kafka_client, settings_factory
) -> None:
    """A run frozen past its session (a stopped container, a frozen Lambda) lost its
    partitions to another member; thawed, its commit is refused as CommitRejected (the run
    reports commit_refused and the next run adopts what it stored), never taken."""
    topic = topic_factory(partitions=2)
    settings = settings_factory(topics=(topic,), session_timeout_seconds=6)
    values = {
        "bootstrap_servers": [bootstrap],
        "group_id": settings.group_id,
        "topics": [topic],
        "kafka_client": kafka_client,
        "session_timeout_seconds": 6,
        "kafka_timeout_seconds": 15,
    }
    frozen = subprocess.Popen(
        [sys.executable, "-m", "tests.support.group_member", json.dumps(values)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert frozen.stdin is not None and frozen.stdout is not None
    other = open_source(settings)
    try:
        assert frozen.stdout.readline().strip() == "assigned 2"
        frozen.send_signal(signal.SIGSTOP)
        other.start()
        both = {PartitionRef(topic, 0), PartitionRef(topic, 1)}
        poll_until(other, lambda _: other.assignment() == both, 60)
        frozen.send_signal(signal.SIGCONT)

        frozen.stdin.write(f"commit {topic} 0 5\n")
        frozen.stdin.flush()
        answer = frozen.stdout.readline().strip()

        assert answer.startswith("rejected: the group refused the commit"), answer
        assert other.committed(PartitionRef(topic, 0)) is None
    finally:
        frozen.send_signal(signal.SIGCONT)
        frozen.stdin.close()
        frozen.wait(30)
        other.close()
