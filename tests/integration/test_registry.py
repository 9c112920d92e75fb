"""Avro and JSON Schema topics through a real Schema Registry (Apicurio, Confluent's API),
produced with confluent-kafka's own serializers so the wire format is the real one: decoded
into JSON lines with the exact bytes kept, exactly once through kills, a schema change and bad
input, and the registry's refusals and absence with the outcomes README promises."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from handler.format.layout import is_dead_letter_key, is_state_key
from handler.format.parquet_reader import ParquetReader
from handler.format.reading import stored_lines
from handler.registry.embedded import embedded_decoder
from handler.stores.local import LocalStore
from scripts.kafka_broker import free_port
from tests.integration.test_collect import end_offsets
from tests.integration.test_operate import handler
from tests.support import runs
from tests.support.fixtures import REGISTRY_USER
from tests.support.protobuf_messages import message_classes
from tests.support.reconcile import Produced, committed, produce, reconcile, stored_records

LOGIN_V1 = {
    "type": "record",
    "name": "Login",
    "namespace": "kafka_beat.test",
    "fields": [
        {"name": "user", "type": "string"},
        {"name": "ok", "type": "boolean"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
# Version 2 adds a field with a default (a backward-compatible change).
LOGIN_V2 = {
    **LOGIN_V1,
    "fields": [
        *LOGIN_V1["fields"],
        {"name": "source_ip", "type": ["null", "string"], "default": None},
    ],
}
READING = {
    "type": "object",
    "properties": {"sensor": {"type": "string"}, "value": {"type": "number"}},
    "required": ["sensor", "value"],
}
AT_MS = 1_764_054_000_000


def serializer(registry_url: str, schema: dict[str, Any], kind: str = "avro") -> Any:
    client = SchemaRegistryClient({"url": registry_url})
    if kind == "avro":
        return AvroSerializer(client, json.dumps(schema))
    return JSONSerializer(json.dumps(schema), client)


def logins(registry_url: str, topic: str, count: int, partitions: int, schema=LOGIN_V1, start=0):
    serialize = serializer(registry_url, schema)
    context = SerializationContext(topic, MessageField.VALUE)
    items = []
    for index in range(start, start + count):
        datum = {"user": f"u{index % 97}", "ok": index % 3 != 0, "at": AT_MS + index}
        if schema is LOGIN_V2:
            datum["source_ip"] = f"10.0.0.{index % 250}"
        items.append(
            (index % partitions, Produced(b"host-%d" % (index % 7), serialize(datum, context)))
        )
    return items


def readings(registry_url: str, topic: str, count: int, partitions: int, version=1, start=0):
    """Protobuf `probe.Reading` values (tests/support/protobuf_messages.py), as confluent-kafka's
    serializer frames them (message indexes after the schema id)."""
    reading_class = message_classes(version)[0]
    client = SchemaRegistryClient({"url": registry_url})
    serialize = ProtobufSerializer(reading_class, client, {"use.deprecated.format": False})
    context = SerializationContext(topic, MessageField.VALUE)
    items = []
    for index in range(start, start + count):
        reading = reading_class(
            sensor=f"s{index % 13}", value=index / 4, count=index, kind=index % 2
        )
        reading.tags.append(f"t{index % 3}")
        if version == 2:
            reading.site = f"site-{index % 5}"
        items.append((index % partitions, Produced(b"k", serialize(reading, context))))
    return items


def settings_for(bootstrap: str, topic: str, out, registry_url: str, **more: Any) -> dict:
    return {
        "bootstrap_servers": bootstrap,
        "group_id": f"g-{topic}",
        "topics": topic,
        "destination": str(out),
        "value_format": "avro",
        "schema_registry_url": registry_url,
        "max_object_records": 300,
        **more,
    }


def signed_in(bootstrap: str, topic: str, tmp_path, registry_url: str, password: str) -> dict:
    """A run's settings against the secured registry, as REGISTRY_USER with `password`."""
    return settings_for(
        bootstrap,
        topic,
        tmp_path / "out",
        registry_url,
        schema_registry_username=REGISTRY_USER[0],
        schema_registry_password=password,
    )


def once_under_two_schemas(tmp_path, produced, admin, topic: str, encoding: str) -> list:
    """Every record stored once and committed, each line decoded as `encoding` under one of
    two schema ids; the lines."""
    store = LocalStore(tmp_path / "out")
    reconcile(produced, stored_records(store))
    assert committed(admin, f"g-{topic}") == end_offsets(produced)
    stored = lines(store)
    assert {line["value_encoding"] for line in stored} == {encoding}
    assert len({line["value_schema_id"] for line in stored}) == 2
    return stored


def lines(store: LocalStore, dead_letters: bool = False) -> list[dict[str, Any]]:
    """Every stored line as JSON (or every dead letter's)."""
    found = []
    for key in store.list_keys(""):
        if is_state_key(key) or is_dead_letter_key(key) != dead_letters:
            continue
        with store.open(key) as raw:
            found.extend(orjson.loads(line) for line in stored_lines(key, raw, embedded_decoder))
    return found


# Objects of both formats: JSON lines, and Parquet with the value in a typed column.
FORMATS = pytest.mark.parametrize("object_format", ["jsonl", "parquet"])


def stored_as(object_format: str) -> dict[str, str]:
    return {"format": "parquet"} if object_format == "parquet" else {}


def objects_glob(tmp_path, topic: str, object_format: str) -> str:
    return str(tmp_path / "out" / topic / "**" / f"*.{object_format}*")


def read_objects(tmp_path, topic: str, object_format: str) -> str:
    """The DuckDB table function over every object of the topic, across their schemas."""
    if object_format == "parquet":
        return f"read_parquet('{objects_glob(tmp_path, topic, 'parquet')}', union_by_name=true)"
    return f"read_json('{objects_glob(tmp_path, topic, 'jsonl')}', union_by_name=true)"


def parquet_schema_ids(tmp_path, topic: str) -> list[tuple[int, ...]]:
    """The value schema ids of each Parquet object of the topic (its footer's)."""
    found = []
    for path in (tmp_path / "out" / topic).rglob("*.parquet"):
        with ParquetReader(path.open("rb")) as reader:
            found.append(reader.info.value_schema_ids)
    return found


@FORMATS
def test_avro_topic_exactly_once_through_a_kill_and_a_schema_change(
    object_format, schema_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, logins(schema_registry.url, topic, 2000, 2))
    settings = settings_for(
        bootstrap, topic, tmp_path / "out", schema_registry.url, **stored_as(object_format)
    )

    # Explicit partitions for the killed run: a killed group member holds them a session long.
    killed = {**settings, "topics": None, "partitions": f"{topic}:0-1"}
    code, summary, _ = runs.finish(runs.start(tmp_path, failpoint="after_store:2", **killed))
    assert code == -signal.SIGKILL and summary is None
    # The producers move to version 2 of the schema meanwhile: a new id in the same topic.
    produced |= produce(
        producer, topic, logins(schema_registry.url, topic, 1000, 2, LOGIN_V2, 2000)
    )
    summaries = runs.catch_up(tmp_path, **settings)
    assert summaries[0]["encoder"] == "python"

    stored = once_under_two_schemas(tmp_path, produced, admin, topic, "avro")
    newest = max(stored, key=lambda line: line["value_schema_id"])
    assert set(newest["value"]) == {"user", "ok", "at", "source_ip"}
    first = min(stored, key=lambda line: (line["partition"], line["offset"]))
    assert first["value"] == {"user": "u0", "ok": False, "at": "2025-11-25T07:00:00Z"}
    # A query engine reads the typed fields across both versions of the schema.
    query = (
        "SELECT count(*), count(value.source_ip), count(DISTINCT value.user) "
        f"FROM {read_objects(tmp_path, topic, object_format)} WHERE value.ok"
    )
    ok = sum(1 for index in range(3000) if index % 3 != 0)
    assert duckdb.sql(query).fetchall()[0] == (ok, sum(1 for i in range(2000, 3000) if i % 3), 97)
    if object_format == "parquet":
        # Typed by the writer schema: `at` is a timestamp, not its text.
        first_at = f"SELECT min(value.at) FROM {read_objects(tmp_path, topic, object_format)}"
        assert duckdb.sql(first_at).fetchall()[0][0] == datetime.fromtimestamp(AT_MS / 1000, UTC)
        # Each object holds the values of one schema: a new one started a new object.
        ids = parquet_schema_ids(tmp_path, topic)
        assert all(len(found) == 1 for found in ids) and len(set(ids)) == 2


def test_json_schema_values_decode_under_the_registry_format(
    schema_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=1)
    serialize = serializer(schema_registry.url, READING, "json")
    context = SerializationContext(topic, MessageField.VALUE)
    items = [
        (0, Produced(None, serialize({"sensor": f"s{n}", "value": n / 4}, context)))
        for n in range(50)
    ]
    produced = produce(producer, topic, items)
    settings = settings_for(
        bootstrap, topic, tmp_path / "out", schema_registry.url, value_format="registry"
    )
    runs.catch_up(tmp_path, **settings)
    store = LocalStore(tmp_path / "out")
    reconcile(produced, stored_records(store))
    stored = sorted(lines(store), key=lambda line: line["offset"])
    assert {line["value_encoding"] for line in stored} == {"jsonschema"}
    assert stored[3]["value"] == {"sensor": "s3", "value": 0.75}


def test_values_that_do_not_decode_are_dead_letters_with_their_reason(
    schema_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=1)
    good = logins(schema_registry.url, topic, 30, 1)
    bad = [
        (0, Produced(b"plain", b'{"user": "not framed"}')),
        (0, Produced(b"unknown", b"\x00\x00\x0f\x42\x3f" + b"\x02")),  # schema id 999,999
        (0, Produced(b"short", good[0][1].value[:6])),  # the datum cut short
    ]
    produced = produce(producer, topic, good[:10] + bad + good[10:])
    settings = settings_for(bootstrap, topic, tmp_path / "out", schema_registry.url)
    summary = runs.catch_up(tmp_path, **settings)[0]
    assert summary["dead_letters"] == 3

    store = LocalStore(tmp_path / "out")
    letters = {
        pos: item for pos, item in produced.items() if item.key in (b"plain", b"unknown", b"short")
    }
    reconcile({p: i for p, i in produced.items() if p not in letters}, stored_records(store))
    reconcile(letters, stored_records(store, dead_letters=True))
    reasons = {line["key"]: line["invalid"][0]["error"] for line in lines(store, True)}
    assert "the first byte is 0x7b, not 0" in reasons["plain"]
    assert "schema id 999999 is not in the Schema Registry" in reasons["unknown"]
    assert "does not decode as Avro" in reasons["short"]
    assert committed(admin, f"g-{topic}") == end_offsets(produced)


def test_refused_registry_credentials_end_the_run_with_exit_3(
    secured_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=1)
    client = SchemaRegistryClient(
        {"url": secured_registry.url, "basic.auth.user.info": ":".join(REGISTRY_USER)}
    )
    serialize = AvroSerializer(client, json.dumps(LOGIN_V1))
    context = SerializationContext(topic, MessageField.VALUE)
    datum = {"user": "u", "ok": True, "at": AT_MS}
    produced = produce(producer, topic, [(0, Produced(None, serialize(datum, context)))] * 5)
    settings = signed_in(bootstrap, topic, tmp_path, secured_registry.url, "wrong-password")
    code, summary, stderr = runs.finish(runs.start(tmp_path, **settings))
    assert code == 3, stderr[-2000:]
    assert summary is not None and summary["refused"] is True
    assert "refused the credentials" in json.dumps(summary) + stderr
    assert "wrong-password" not in json.dumps(summary) + stderr
    # Nothing committed past what is stored (a new group's start may be committed: 0).
    assert committed(admin, f"g-{topic}").get((topic, 0), 0) == 0
    assert not stored_records(LocalStore(tmp_path / "out"))

    right = {**settings, "schema_registry_password": REGISTRY_USER[1]}
    runs.catch_up(tmp_path, **right)
    reconcile(produced, stored_records(LocalStore(tmp_path / "out")))


def test_a_registry_down_fails_the_partition_that_needs_it_and_the_next_run_stores_it(
    schema_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    """Partition 0 holds Avro values, which need the registry; partition 1 values that are not
    framed (dead letters, no registry asked). With the registry down, partition 0 fails
    storing nothing, and partition 1 is stored and committed all the same."""
    topic = topic_factory(partitions=2)
    avro = [(0, item) for _, item in logins(schema_registry.url, topic, 200, 1)]
    plain = [(1, Produced(b"plain", b'{"not": "framed"}')) for _ in range(50)]
    produced = produce(producer, topic, avro + plain)
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(bootstrap, topic, tmp_path / "out", nowhere)
    settings |= {"topics": None, "partitions": f"{topic}:0-1"}
    code, summary, stderr = runs.finish(runs.start(tmp_path, **settings))
    assert code == 1, stderr[-2000:]
    assert summary is not None and summary["status"] == "failed"
    statuses = {part["partition"]: part["status"] for part in summary["partitions"]}
    assert statuses == {0: "failed", 1: "done"}, summary["partitions"]
    assert "Schema Registry" in json.dumps(summary)
    store = LocalStore(tmp_path / "out")
    assert not stored_records(store)
    reconcile(
        {p: i for p, i in produced.items() if p[1] == 1}, stored_records(store, dead_letters=True)
    )
    # Nothing committed past what is stored (a new group's start may be committed: 0).
    offsets = committed(admin, f"g-{topic}")
    assert offsets.get((topic, 0), 0) == 0 and offsets[(topic, 1)] == 50

    runs.catch_up(tmp_path, **{**settings, "schema_registry_url": schema_registry.url})
    reconcile({p: i for p, i in produced.items() if p[1] == 0}, stored_records(store))
    assert committed(admin, f"g-{topic}") == end_offsets(produced)


def test_registry_formats_need_the_registry_url_before_touching_kafka(tmp_path) -> None:
    code, _, stderr = runs.finish(
        runs.start(
            tmp_path,
            bootstrap_servers="127.0.0.1:1",
            group_id="g",
            topics="t",
            destination=str(tmp_path / "out"),
            value_format="avro",
        )
    )
    assert code == 2
    assert "KAFKA_BEAT_SCHEMA_REGISTRY_URL" in stderr


def check(tmp_path, **settings: Any) -> tuple[int, str]:
    done = handler(tmp_path, "check", **settings)
    return done.returncode, done.stdout + done.stderr


def test_check_proves_the_registry_and_names_the_topics_subjects(
    secured_registry, topic_factory, producer, bootstrap, tmp_path
) -> None:
    topic = topic_factory(partitions=1)
    client = SchemaRegistryClient(
        {"url": secured_registry.url, "basic.auth.user.info": ":".join(REGISTRY_USER)}
    )
    AvroSerializer(client, json.dumps(LOGIN_V1))(
        {"user": "u", "ok": True, "at": AT_MS}, SerializationContext(topic, MessageField.VALUE)
    )
    settings = signed_in(bootstrap, topic, tmp_path, secured_registry.url, REGISTRY_USER[1])
    code, output = check(tmp_path, **settings)
    assert code == 0, output
    assert "PASS  registry" in output and f"'{topic}-value'" in output
    assert "pure-Python encoder (it decodes the registry formats)" in output

    code, output = check(tmp_path, **{**settings, "schema_registry_password": "wrong"})
    assert code == 3, output
    assert "FAIL  registry" in output and "refused the credentials" in output


@FORMATS
@pytest.mark.parametrize("encoding", ["avro", "protobuf"])
def test_overlapping_runs_store_a_registry_topic_exactly_once(
    encoding, object_format, schema_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    """Three runs at once, twice, on overlapping partitions (one in group mode), with records
    arriving between the rounds and the schema changing in the second."""
    topic = topic_factory(partitions=4)
    settings = settings_for(
        bootstrap,
        topic,
        tmp_path / "out",
        schema_registry.url,
        value_format=encoding,
        **stored_as(object_format),
    )
    produced: dict = {}
    for version in (1, 2):
        start = (version - 1) * 3000
        if encoding == "avro":
            schema = LOGIN_V1 if version == 1 else LOGIN_V2
            items = logins(schema_registry.url, topic, 3000, 4, schema, start)
        else:
            items = readings(schema_registry.url, topic, 3000, 4, version, start)
        produced |= produce(producer, topic, items)
        together = [
            {**settings, "max_object_records": 150},
            {**settings, "topics": None, "partitions": f"{topic}:0-2"},
            {**settings, "topics": None, "partitions": f"{topic}:1-3", "max_object_records": 400},
        ]
        processes = [runs.start(tmp_path, **chosen) for chosen in together]
        for process in processes:
            code, summary, stderr = runs.finish(process)
            assert code == 0 and summary is not None, stderr[-2000:]
    runs.catch_up(tmp_path, **settings)
    once_under_two_schemas(tmp_path, produced, admin, topic, encoding)


def killed_after_the_second_claim(registry_url, topic, producer, bootstrap, tmp_path):
    """900 Avro records in one partition, and a run killed once it claimed [300, 600): what
    was produced, and the settings of that run."""
    produced = produce(producer, topic, logins(registry_url, topic, 900, 1))
    settings = settings_for(bootstrap, topic, tmp_path / "out", registry_url)
    settings |= {"topics": None, "partitions": f"{topic}:0"}
    code, _, _ = runs.finish(runs.start(tmp_path, failpoint="after_claim:2", **settings))
    assert code == -signal.SIGKILL
    return produced, settings


def test_a_crash_under_avro_then_another_format_rebuilds_the_claimed_object_as_claimed(
    schema_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    """A run claims a position under `avro` and dies; the next runs read values as `auto`.
    Without the registry's URL the claimed object cannot be rebuilt: that run fails, storing
    nothing; with it, the object is rebuilt as claimed, and what follows is `auto`."""
    topic = topic_factory(partitions=1)
    produced, settings = killed_after_the_second_claim(
        schema_registry.url, topic, producer, bootstrap, tmp_path
    )

    auto = {**settings, "value_format": "auto", "schema_registry_url": None}
    code, summary, stderr = runs.finish(runs.start(tmp_path, **auto))
    # Nothing stored or committed at the claimed position (an empty object there lost it).
    assert committed(admin, f"g-{topic}") == {(topic, 0): 300}
    assert code == 1, stderr[-2000:]
    assert "set KAFKA_BEAT_SCHEMA_REGISTRY_URL" in json.dumps(summary) + stderr

    runs.catch_up(tmp_path, **{**auto, "schema_registry_url": schema_registry.url})
    store = LocalStore(tmp_path / "out")
    reconcile(produced, stored_records(store))
    assert committed(admin, f"g-{topic}") == end_offsets(produced)
    encodings = {line["offset"]: line["value_encoding"] for line in lines(store)}
    assert {encodings[offset] for offset in range(600)} == {"avro"}  # the first two objects
    assert "avro" not in {encodings[offset] for offset in range(600, 900)}


@FORMATS
def test_protobuf_topic_exactly_once_through_a_kill_and_a_schema_change(
    object_format, schema_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, readings(schema_registry.url, topic, 1500, 2))
    settings = settings_for(
        bootstrap,
        topic,
        tmp_path / "out",
        schema_registry.url,
        value_format="protobuf",
        **stored_as(object_format),
    )
    killed = {**settings, "topics": None, "partitions": f"{topic}:0-1"}
    code, _, _ = runs.finish(runs.start(tmp_path, failpoint="after_store:2", **killed))
    assert code == -signal.SIGKILL
    produced |= produce(producer, topic, readings(schema_registry.url, topic, 500, 2, 2, 1500))
    runs.catch_up(tmp_path, **settings)

    stored = once_under_two_schemas(tmp_path, produced, admin, topic, "protobuf")
    first = min(stored, key=lambda line: (line["partition"], line["offset"]))
    assert first["value"] == {
        "sensor": "s0",
        "value": 0.0,
        "count": 0,
        "kind": "KIND_UNSET",
        "raw": "",
        "tags": ["t0"],
    }
    query = (
        "SELECT count(*), count(value.site), max(value.count) "
        f"FROM {read_objects(tmp_path, topic, object_format)} WHERE value.kind = 'KIND_HOT'"
    )
    assert duckdb.sql(query).fetchall()[0] == (1000, 250, 1999)
    if object_format == "parquet":
        ids = parquet_schema_ids(tmp_path, topic)
        assert all(len(found) == 1 for found in ids) and len(set(ids)) == 2


def test_a_registry_down_while_repairing_a_claimed_range_stores_none_of_it(
    schema_registry, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    """The consumer has fetched past the claimed range when the registry fails on its first
    record: the range must not be taken for compacted away (an empty object stored there)."""
    topic = topic_factory(partitions=1)
    produced, settings = killed_after_the_second_claim(
        schema_registry.url, topic, producer, bootstrap, tmp_path
    )

    nowhere = {**settings, "schema_registry_url": f"http://127.0.0.1:{free_port()}"}
    code, _, stderr = runs.finish(runs.start(tmp_path, **nowhere))
    assert code == 1, stderr[-2000:]
    assert committed(admin, f"g-{topic}") == {(topic, 0): 300}

    runs.catch_up(tmp_path, **settings)
    reconcile(produced, stored_records(LocalStore(tmp_path / "out")))
    assert committed(admin, f"g-{topic}") == end_offsets(produced)
