"""DuckDB reads the objects the Parquet writer makes, laid out as the run lays out its objects."""

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.config.parquet_fields import parse_fields
from handler.format.layout import dead_letters_key, object_key
from handler.format.parquet import ParquetObjectWriter
from handler.format.parquet_schema import EXTENSION
from handler.record import Record

HOUR = 3_600_000
T0 = 1764054000123  # 2025-11-25T07:00:00.123Z
FIELDS = parse_fields("user:string,bytes:int64,@timestamp:timestamp,event.ok:bool:ok")


def store(root: Path, records: list[Record], fields=FIELDS) -> Path:
    """One object, at the key the run would give it (by its first record's time)."""
    first = records[0]
    key = object_key("", first.topic, first.partition, first.offset, first.timestamp, EXTENSION)
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = ParquetObjectWriter(compression="zstd", fields=fields, row_group_bytes=2048)
    for record in records:
        writer.add(record)
    sealed = writer.seal()
    path.write_bytes(sealed.body.read())
    sealed.close()
    return path


def glob(root: Path) -> str:
    return f"read_parquet('{root}/*/dt=*/hour=*/*.parquet', hive_partitioning=true)"


def event(n: int, topic: str, partition: int, timestamp: int) -> Record:
    value = json.dumps(
        {
            "user": f"u{n % 7}",
            "bytes": n * 10,
            "@timestamp": f"2025-11-25T07:{n % 60:02d}:00Z",
            "event": {"ok": n % 2 == 0},
        }
    ).encode()
    headers = (("trace", b"%d" % n), ("trace", b"\x00\xff"), ("source", None))
    return Record(topic, partition, n, timestamp, "create", b"host-%d" % (n % 3), value, headers)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, list[Record]]:
    """Two topics, three hours, objects of several row groups, and a record with no
    timestamp in the unknown folder; a dead letter and a state file that must not be read."""
    records: list[Record] = []
    plan = [("auth", 0, 0, 0, 120), ("auth", 0, 120, 1, 50), ("auth", 1, 0, 2, 30)]
    plan += [("dns", 0, 0, 0, 40)]
    for topic, partition, start, hour, count in plan:
        batch = [event(start + n, topic, partition, T0 + hour * HOUR + n) for n in range(count)]
        store(tmp_path, batch)
        records += batch
    odd = Record("dns", 1, 0, -1, "create", None, b"\x80not json", ())
    store(tmp_path, [odd])
    records.append(odd)
    decoy = tmp_path / dead_letters_key(object_key("", "auth", 0, 5, T0, EXTENSION))
    decoy.parent.mkdir(parents=True)
    decoy.write_bytes((tmp_path / object_key("", "auth", 0, 0, T0, EXTENSION)).read_bytes())
    (tmp_path / "_kafka_beat" / "checkpoints").mkdir(parents=True)
    (tmp_path / "_kafka_beat" / "checkpoints" / "x.json").write_text("{}")
    return tmp_path, records


def test_counts_per_folder(layout) -> None:
    root, records = layout
    rows = duckdb.sql(
        f"SELECT topic, dt::VARCHAR, hour::VARCHAR, count(*) FROM {glob(root)} GROUP BY ALL"
    ).fetchall()
    assert Counter({(t, d, h): n for t, d, h, n in rows}) == Counter(
        {
            ("auth", "2025-11-25", "07"): 120,
            ("auth", "2025-11-25", "08"): 50,
            ("auth", "2025-11-25", "09"): 30,
            ("dns", "2025-11-25", "07"): 40,
            ("dns", "unknown", "unknown"): 1,
        }
    )
    assert sum(n for *_, n in rows) == len(records)


def test_bytes_come_back_exactly(layout) -> None:
    root, records = layout
    rows = duckdb.sql(
        'SELECT topic, partition, "offset", epoch_ms("timestamp"), timestamp_type, key, '
        # value is null where value_json holds its bytes exactly (README, "Parquet objects")
        f"coalesce(value, encode(value_json)), headers FROM {glob(root)} "
        'ORDER BY topic, partition, "offset"'
    ).fetchall()
    back = [
        Record(t, p, o, ms, tt, k, v, tuple((h["key"], h["value"]) for h in hs))
        for t, p, o, ms, tt, k, v, hs in rows
    ]
    assert back == sorted(records, key=lambda r: (r.topic, r.partition, r.offset))


def test_json_and_typed_columns_answer_queries(layout) -> None:
    root, records = layout
    users = duckdb.sql(
        f"SELECT json_extract_string(value_json, '$.user') AS u, count(*) FROM {glob(root)} "
        "WHERE value_json IS NOT NULL GROUP BY u"
    ).fetchall()
    assert sum(n for _, n in users) == len(records) - 1  # the one non-JSON value is null
    typed = duckdb.sql(
        f'SELECT count(*), sum(bytes), count(DISTINCT "user"), count(*) FILTER (WHERE ok), '
        f'max("@timestamp") FROM {glob(root)}'
    ).fetchall()[0]
    json_values = [json.loads(r.value) for r in records if r.value and r.value[:1] == b"{"]
    assert typed[:4] == (
        len(records),
        sum(v["bytes"] for v in json_values),
        7,
        sum(v["event"]["ok"] for v in json_values),
    )
    assert typed[4].isoformat() == "2025-11-25T07:59:00+00:00"
    described = duckdb.sql(f"DESCRIBE SELECT * FROM {glob(root)}").fetchall()
    types = {name: kind for name, kind, *_ in described}
    assert types["user"] == "VARCHAR"
    assert types["bytes"] == "BIGINT"
    assert types["@timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert types["ok"] == "BOOLEAN"
    assert types["timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert types["key"] == "BLOB"
    assert types["headers"] == 'STRUCT("key" VARCHAR, "value" BLOB)[]'


payloads = st.one_of(st.none(), st.binary(max_size=40), st.text(max_size=12).map(str.encode))


@settings(deadline=None, max_examples=25)
@given(
    values=st.lists(st.tuples(payloads, payloads), min_size=1, max_size=20),
    hours=st.lists(st.integers(0, 3), min_size=1, max_size=3),
)
def test_arbitrary_bytes_through_duckdb(tmp_path_factory, values, hours) -> None:
    root = tmp_path_factory.mktemp("layout")
    records = []
    for index, hour in enumerate(hours):
        batch = [
            Record("t", index, n, T0 + hour * HOUR, "log_append", k, v, (("h", v), ("h", k)))
            for n, (k, v) in enumerate(values)
        ]
        store(root, batch, fields=())
        records += batch
    rows = duckdb.sql(
        'SELECT partition, "offset", key, coalesce(value, encode(value_json)), headers, hour '
        f'FROM {glob(root)} ORDER BY partition, "offset"'
    ).fetchall()
    assert [(p, o, k, v, [(h["key"], h["value"]) for h in hs]) for p, o, k, v, hs, _ in rows] == [
        (r.partition, r.offset, r.key, r.value, list(r.headers)) for r in records
    ]
    assert Counter(int(hour) for *_, hour in rows) == Counter(7 + h for h in hours for _ in values)
