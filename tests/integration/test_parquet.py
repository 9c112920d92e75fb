"""Parquet objects written by real runs: DuckDB reads them where they lie, every byte comes back,
`decode` prints the same lines as for JSON lines, typed columns count what does not fit.

The kill, overlap and format-change cases with Parquet are in test_exactly_once.py,
test_overlap.py, test_dead_letters.py and test_changes_after_a_crash.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import duckdb

from handler.commands.verify import audit
from handler.stores.local import LocalStore
from tests.integration.test_collect import end_offsets
from tests.support import runs
from tests.support.reconcile import Produced, committed, produce, reconcile, stored_records

HOUR_MS = 3_600_000
BASE_MS = 1_764_054_000_000  # 2025-11-25T07:00:00Z


def varied(count: int) -> list[tuple[int, Produced]]:
    """(partition, record): JSON logs over three hours, with the cases a lossless
    format must keep — not JSON, not UTF-8, tombstones, null keys, repeated and empty headers,
    JSON with spacing the lines normalise, fields that do not fit their typed column."""
    items = []
    for n in range(count):
        kind = n % 10
        value: bytes | None
        if kind == 7:
            value = b"plain text %d" % n
        elif kind == 8:
            value = bytes([0xFF, 0x00, n % 256])
        elif kind == 9:
            value = None if n % 20 == 9 else b'{ "user" : "u%d",\n "bytes": "many" }' % n
        else:
            value = b'{"user":"u%d","bytes":%d,"action":"login"}' % (n % 7, n)
        headers = (("trace", b"%d" % n), ("trace", b"\x00\xff"), ("empty", b""))
        key = None if n % 13 == 0 and value is not None else b"host-%d" % (n % 5)
        stamp = BASE_MS + (n % 3) * HOUR_MS + n
        items.append((n % 3, Produced(key, value, headers, timestamp_ms=stamp)))
    return items


def folder_of(stamp: int) -> tuple[str, str]:
    moment = datetime.fromtimestamp(stamp / 1000, tz=UTC)
    return f"{moment:%Y-%m-%d}", f"{moment:%H}"


def test_duckdb_reads_a_runs_parquet_in_place(
    topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=3)
    produced = produce(producer, topic, varied(3000))
    out = tmp_path / "out"
    summary = runs.run_to_completion(
        tmp_path,
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        topics=topic,
        destination=str(out),
        format="parquet",
        compression="zstd",
        parquet_fields="user:string,bytes:int64,action:string",
        max_object_records=400,
    )
    assert summary["records"] == 3000 and summary["status"] == "ok"
    # Every tenth record's "bytes" is the string "many" where it is JSON: counted, not dropped.
    unfit = sum(1 for item in produced.values() if item.value and b'"many"' in item.value)
    assert unfit > 0 and summary["counts"].get("parquet_unfit bytes") == unfit

    source = f"read_parquet('{out}/*/dt=*/hour=*/*.parquet', hive_partitioning=true)"
    per_folder = duckdb.sql(
        f"SELECT CAST(dt AS VARCHAR), lpad(CAST(hour AS VARCHAR), 2, '0'), count(*) "
        f"FROM {source} GROUP BY ALL"
    ).fetchall()
    expected = Counter(folder_of(item.timestamp_ms) for item in produced.values())
    assert {(dt, hour): n for dt, hour, n in per_folder} == expected

    rows = duckdb.sql(
        'SELECT topic, partition, "offset", epoch_ms("timestamp"), key, '
        "coalesce(value, encode(value_json)), headers, user, bytes "
        f"FROM {source}"
    ).fetchall()
    assert len(rows) == len(produced)
    for row_topic, partition, offset, stamp, key, value, headers, user, count in rows:
        item = produced[(row_topic, partition, offset)]
        assert (stamp, key, value) == (item.timestamp_ms, item.key, item.value)
        assert tuple((h["key"], h["value"]) for h in headers) == item.headers
        if item.value is not None and item.value.startswith(b'{"user"'):
            document = json.loads(item.value)
            assert (user, count) == (document["user"], document["bytes"])
        else:
            assert count is None
    [(logins,)] = duckdb.sql(
        f"SELECT count(*) FROM {source} WHERE json_extract_string(value_json, '$.action') = 'login'"
    ).fetchall()
    assert logins == sum(1 for item in produced.values() if b"login" in (item.value or b""))

    store = LocalStore(out)
    reconcile(produced, stored_records(store, ""))
    assert committed(admin, f"g-{topic}") == end_offsets(produced)
    audits = audit(str(out), None)
    assert audits and all(item.healthy for item in audits), [item.line() for item in audits]


def decoded(location: str) -> list[bytes]:
    command = [sys.executable, "-m", "handler", "decode", location]
    return subprocess.run(command, capture_output=True, check=True).stdout.splitlines()


def test_decode_prints_the_same_lines_for_parquet_as_for_jsonl(
    topic_factory, producer, bootstrap, tmp_path
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, [(0, item) for _, item in varied(500)])
    common = dict(bootstrap_servers=bootstrap, topics=topic, value_format="auto")
    for name, chosen in (("jsonl", {}), ("parquet", {"format": "parquet"})):
        runs.run_to_completion(
            tmp_path,
            group_id=f"g-{name}-{topic}",
            destination=str(tmp_path / name),
            max_object_records=120,
            **chosen,
            **common,
        )
    jsonl, parquet = decoded(str(tmp_path / "jsonl")), decoded(str(tmp_path / "parquet"))
    assert len(jsonl) == 500 and parquet == jsonl
    assert any(key.endswith(".parquet") for key in LocalStore(tmp_path / "parquet").list_keys(""))
