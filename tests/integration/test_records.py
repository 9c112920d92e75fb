"""Messy real-world records: bad payloads and dead letters, large records, event-time folders,
absurd and interleaved timestamps — none lost, none silent."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import orjson
import pytest

from handler.engine.collector import run
from handler.stores.local import LocalStore
from tests.support import runs
from tests.support.fixtures import over_clients, over_encoders
from tests.support.reconcile import Produced, committed, produce, reconcile, stored_records

HOUR = 3_600_000
MIXED = [
    Produced(b"a", b'{"ok": 1}'),
    Produced(b"b", b"plain text, not JSON"),
    Produced(b"c", b'{"ok": 2}'),
    Produced(b"d", b"\xff\xfe binary"),
    Produced(b"e", None),  # a tombstone is never invalid
    Produced(b"f", b'{"ok": 3}'),
    Produced(b"g", b'{"broken": '),
    Produced(b"h", b'{"ok": 4}'),
]


def split(produced: dict) -> tuple[dict, dict]:
    def valid(item: Produced) -> bool:
        if item.value is None:
            return True
        try:
            json.loads(item.value)
        except ValueError:
            return False
        return True

    good = {pos: item for pos, item in produced.items() if valid(item)}
    return good, {pos: item for pos, item in produced.items() if pos not in good}


@over_encoders
def test_dead_letters_with_the_reason(topic_factory, producer, settings_factory, admin) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, [(0, item) for item in MIXED])
    settings = settings_factory(topics=(topic,), value_format="json")

    report = run(settings)

    assert report.status == "ok" and report.records == 5 and report.dead_letters == 3
    assert report.counts["invalid value: not JSON"] == 2
    assert report.counts["invalid value: not UTF-8"] == 1
    assert report.counts["tombstones"] == 1
    store = LocalStore(settings.target().path)
    good, bad = split(produced)
    reconcile(good, stored_records(store))
    reconcile(bad, stored_records(store, dead_letters=True))
    letters = [orjson.loads(line) for line in dead_letter_lines(store)]
    by_offset = {letter["offset"]: letter for letter in letters}
    assert by_offset[6]["invalid"] == [
        {"field": "value", "error": "not JSON: Expecting value", "byte": 11}
    ]
    assert by_offset[3]["invalid"][0]["byte"] == 0 and by_offset[3]["value_encoding"] == "base64"
    assert committed(admin, settings.group_id) == {(topic, 0): 8}


def dead_letter_lines(store: LocalStore) -> list[bytes]:
    from handler.commands.decode import lines

    keys = [key for key in store.list_keys("_dead_letter/")]
    assert all("+0+" in key for key in keys)
    return list(lines(store, keys))


@over_encoders
def test_keep_stores_invalid_records_raw_in_the_stream(
    topic_factory, producer, settings_factory
) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, [(0, item) for item in MIXED])
    settings = settings_factory(topics=(topic,), value_format="json", on_invalid="keep")

    report = run(settings)

    assert report.status == "ok" and report.records == 8 and report.dead_letters == 0
    store = LocalStore(settings.target().path)
    reconcile(produced, stored_records(store))
    flagged = [json.loads(line) for line in dead_letter_free_lines(store) if b'"invalid"' in line]
    assert [doc["offset"] for doc in flagged] == [1, 3, 6]


def dead_letter_free_lines(store: LocalStore) -> list[bytes]:
    from handler.commands.decode import lines

    keys = [k for k in store.list_keys("") if not k.startswith(("_kafka_beat", "_dead_letter"))]
    return list(lines(store, keys))


@over_encoders
def test_fail_stops_before_the_record_and_names_it(
    topic_factory, producer, settings_factory, admin
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, [(0, item) for item in MIXED])
    settings = settings_factory(topics=(topic,), value_format="json", on_invalid="fail")

    report = run(settings)

    assert report.status == "failed" and report.partitions[0].status == "invalid"
    assert f"{topic}:0 offset 1: value is invalid (not JSON" in report.errors[0]
    assert "KAFKA_BEAT_ON_INVALID" in report.errors[0]
    assert committed(admin, settings.group_id) == {(topic, 0): 1}
    assert [r.offset for r in stored_records(LocalStore(settings.target().path))] == [0]


@over_encoders
def test_text_format_and_key_format(topic_factory, producer, settings_factory) -> None:
    topic = topic_factory(partitions=1)
    items = [Produced(b"\xffkey", b'{"json": "as text"}'), Produced(b"k", b"\xc3\x28 bad")]
    produced = produce(producer, topic, [(0, item) for item in items])
    settings = settings_factory(topics=(topic,), value_format="text", key_format="bytes")

    report = run(settings)

    assert report.records == 1 and report.dead_letters == 1
    store = LocalStore(settings.target().path)
    line = orjson.loads(dead_letter_free_lines(store)[0])
    assert line["value_encoding"] == "utf8" and line["key_encoding"] == "base64"
    reconcile({k: v for k, v in produced.items() if k[2] == 0}, stored_records(store))


@over_encoders
@over_clients
def test_dead_letters_stored_once_through_a_kill(
    kafka_client, encoder, topic_factory, producer, bootstrap, tmp_path
) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, [(0, item) for item in MIXED * 50])
    settings = dict(
        kafka_client=kafka_client,
        encoder=encoder,
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        partitions=f"{topic}:0",
        value_format="json",
        max_object_records=40,
        destination=str(tmp_path / "out"),
    )
    code, _, _ = runs.finish(runs.start(tmp_path, failpoint="before_store:3", **settings))
    assert code == -signal.SIGKILL

    runs.catch_up(tmp_path, **settings)

    store = LocalStore(tmp_path / "out")
    good, bad = split(produced)
    reconcile(good, stored_records(store))
    reconcile(bad, stored_records(store, dead_letters=True))


@over_encoders
@over_clients
def test_large_records_land_whole(topic_factory, settings_factory, bootstrap) -> None:
    from kafka import KafkaProducer

    topic = topic_factory(partitions=1, configs={"max.message.bytes": str(8 * 1024 * 1024)})
    big = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 * 1024 * 1024)
    items = [
        Produced(b"small", b'{"n": 1}'),
        Produced(b"big", b"x" * (5 * 1024 * 1024)),
        Produced(b"bin", bytes(range(256)) * 12_000),
        Produced(b"small", b'{"n": 2}'),
    ]
    produced = produce(big, topic, [(0, item) for item in items])
    big.close()
    settings = settings_factory(topics=(topic,), max_object_bytes=1024 * 1024)

    report = run(settings)

    assert report.status == "ok" and report.records == 4
    assert report.objects == 4  # each too-large record alone in its object, never split
    reconcile(produced, stored_records(LocalStore(settings.target().path)))


@over_encoders
def test_time_field_places_records(topic_factory, producer, settings_factory, tmp_path) -> None:
    topic = topic_factory(partitions=1)
    items = [
        Produced(b"k", b'{"@timestamp": "2026-03-01T05:10:00Z", "n": 1}'),
        Produced(b"k", b'{"@timestamp": 1772341800, "n": 2}'),  # epoch seconds, 05:10
        Produced(b"k", b'{"no_time": true}'),
        Produced(b"k", b'{"event": {"created": "2026-03-01T09:00:00+00:00"}}'),
    ]
    produce(producer, topic, [(0, item) for item in items])
    settings = settings_factory(topics=(topic,), time_field="@timestamp")
    other = settings_factory(
        topics=(topic,), time_field="event.created", destination=str(tmp_path / "other")
    )

    report, report_other = run(settings), run(other)

    assert report.counts["time_field_missing"] == 2
    assert report.partitions[0].objects[0].split("/")[1:3] == ["dt=2026-03-01", "hour=05"]
    assert len(report.partitions[0].objects) == 2  # the Kafka-timed record is later: rotates
    assert report_other.counts["time_field_missing"] == 3
    # The nested time (March) is older than the Kafka times before it: late, kept in place.
    assert len(report_other.partitions[0].objects) == 1
    assert report_other.counts["late_records"] == 1


@over_encoders
@over_clients
def test_absurd_and_interleaved_timestamps(topic_factory, producer, settings_factory) -> None:
    topic = topic_factory(partitions=1, configs={"message.timestamp.after.max.ms": str(2**62)})
    base = 1764054000000  # 2025-11-25 07:00 UTC
    for n in range(200):  # two producers with skewed clocks, alternating between two hours
        producer.send(
            topic,
            value=b'{"n": %d}' % n,
            partition=0,
            timestamp_ms=base + (HOUR if n % 2 else 0) + n,
        )
    producer.send(topic, value=b'{"year": 3000}', partition=0, timestamp_ms=32503680000000)
    producer.send(topic, value=b'{"epoch": 0}', partition=0, timestamp_ms=0)
    producer.flush()
    settings = settings_factory(topics=(topic,))

    report = run(settings)

    assert report.status == "ok" and report.records == 202
    keys = report.partitions[0].objects
    # 07:00, then 08:00 where the 07:00 stragglers, year 3000 and 1970 stay: no explosion.
    assert [key.split("/")[1:3] for key in keys] == [
        ["dt=2025-11-25", "hour=07"],
        ["dt=2025-11-25", "hour=08"],
    ]
    assert report.counts["late_records"] == 99 + 2
    assert report.counts["unknown_time"] == 1


@over_encoders
def test_decode_prints_records_back(topic_factory, producer, settings_factory) -> None:
    topic = topic_factory(partitions=2)
    produce(producer, topic, [(n % 2, Produced(b"k", b'{"n": %d}' % n)) for n in range(10)])
    settings = settings_factory(topics=(topic,), compression="zstd")
    report = run(settings)
    root = settings.target().path
    one_object = root / report.partitions[0].objects[0]

    listing = decode(str(root))
    raw = decode("--raw", str(one_object))

    assert sorted(json.loads(line)["value"]["n"] for line in listing.splitlines()) == list(
        range(10)
    )
    assert raw.splitlines() == [b'{"n":%d}' % n for n in range(0, 10, 2)]


def decode(*args: str) -> bytes:
    command = [sys.executable, "-m", "handler", "decode", *args]
    return subprocess.run(command, capture_output=True, check=True).stdout


@pytest.mark.parametrize("location", ["missing-dir", "gs://x/y"])
def test_decode_bad_location_exits_2(location, tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "handler",
            "decode",
            str(tmp_path / location) if "://" not in location else location,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "kafka-beat:" in result.stderr


@over_clients
def test_topic_pattern_picks_up_new_topics_and_reports_deleted_ones(
    topic_factory, producer, settings_factory, admin
) -> None:
    first = topic_factory(partitions=2)
    family = first.rsplit("-", 1)[0]  # unique per test: topic-N
    settings = settings_factory(topic_pattern=f"{family}-.*")
    produced = produce(producer, first, [(n % 2, Produced(b"k", b"%d" % n)) for n in range(20)])
    assert run(settings).records == 20

    second = f"{family}-later"
    admin.create_topics(
        {second: {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True
    )
    produced |= produce(producer, second, [(0, Produced(b"k", b"%d" % n)) for n in range(5)])
    picked_up = run(settings)
    admin.delete_topics([first])
    after_delete = run(settings)

    assert picked_up.status == "ok" and picked_up.records == 5
    assert after_delete.status == "ok" and after_delete.missing_topics == [first]
    reconcile(produced, stored_records(LocalStore(settings.target().path)))


@over_clients
def test_topic_pattern_names_whole_topics(topic_factory, producer, settings_factory, admin) -> None:
    """`orders` collects `orders`, not `orders-dlq`: the run matches as `check` and Kafka's own
    clients do, whatever kafka-python's prefix match would take."""
    topic = topic_factory(partitions=1)
    longer = f"{topic}-dlq"
    admin.create_topics(
        {longer: {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True
    )
    produced = produce(producer, topic, [(0, Produced(b"k", b"mine"))])
    produce(producer, longer, [(0, Produced(b"k", b"not mine"))])
    settings = settings_factory(topic_pattern=topic)

    report = run(settings)

    assert report.status == "ok" and report.records == 1
    assert {part.topic for part in report.partitions} == {topic}
    reconcile(produced, stored_records(LocalStore(settings.target().path)))


@over_clients
def test_listed_topic_missing_fails_but_collects_the_others(
    topic_factory, producer, settings_factory
) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, [(0, Produced(b"k", b"v"))])
    settings = settings_factory(topics=(topic, "no-such-topic"))

    report = run(settings)

    assert report.status == "failed" and report.missing_topics == ["no-such-topic"]
    assert "do not exist on the cluster; the other topics are collected" in report.errors[0]
    reconcile(produced, stored_records(LocalStore(settings.target().path)))
