"""The native encoder's Parquet columns (`encode_batch(..., fields)` and `Batch.columns`)
against the Python rows (`RowBuffer`, what `ParquetObjectWriter.add` buffers), the reference:
for the records it does not defer, the record batch built from its buffers equals the Python
rows' column by column, unfit counts included; log lines and documents are not deferred."""

from __future__ import annotations

import gc
import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.config.parquet_fields import ParquetField, parse_fields
from handler.format.envelope import Encoder
from handler.format.native_columns import native_fields, record_batch, unfit_counts
from handler.format.parquet_rows import RowBuffer
from handler.format.parquet_schema import schema
from handler.record import Record
from tests.unit.format.test_native_encoder import (
    FLOATS,
    FORMATS,
    INTS,
    TIME_FIELDS,
    TIME_VALUES,
    TRICKY,
    _payloads,
    iso_strings,
    json_texts,
)

native = pytest.importorskip("kafka_beat_native")
pa = pytest.importorskip("pyarrow")

TOPIC = "auth"


def runs(deferred: set[int], count: int) -> list[tuple[int, int]]:
    """The maximal ranges of records not deferred."""
    found, start = [], None
    for index in range(count + 1):
        if index < count and index not in deferred:
            start = index if start is None else start
        elif start is not None:
            found.append((start, index))
            start = None
    return found


def readable(column: Any) -> list[Any]:
    """The values, timestamps as ints (a datetime holds no year past 9999)."""
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.int64())
    return column.to_pylist()  # type: ignore[no-any-return]


def assert_columns(
    records: list[Any],
    fields: tuple[ParquetField, ...] = (),
    key_format: str = "auto",
    value_format: str = "auto",
    time_field: str | None = None,
    kind: str = "record",
    as_records: list[Record] | None = None,
    split: int = 0,
) -> Any:
    """Encode with the fields; the columns of every run not deferred (each cut once `split`
    records in) must be the Python rows of the same records, and the lines those encoded
    without fields."""
    spec = native_fields(fields)
    batch = native.encode_batch(records, kind, key_format, value_format, time_field, spec)
    plain = native.encode_batch(records, kind, key_format, value_format, time_field)
    deferred = set(batch.deferred)
    assert set(plain.deferred) <= deferred
    for index in range(len(records)):
        if index not in deferred:
            assert batch.line(index) == plain.line(index)
            assert batch.event_time(index) == plain.event_time(index)
    object_schema = schema(fields, key_format, value_format)  # type: ignore[arg-type]
    rows = RowBuffer(fields, Encoder(key_format, value_format))  # type: ignore[arg-type]
    for index, rec in enumerate(as_records or records):
        if index not in deferred:
            rows.add(rec)
    batches, unfit = [], dict.fromkeys((field.column for field in fields), 0)
    for start, stop in runs(deferred, len(records)):
        cut = min(start + split, stop) if split else stop
        for low, high in ((start, cut), (cut, stop)):
            columns = batch.columns(low, high, spec)
            assert columns.count == high - low
            made = record_batch(columns, TOPIC, object_schema)
            made.validate(full=True)
            batches.append(made)
            for column, count in unfit_counts(columns, fields).items():
                unfit[column] += count
    python = rows.batch(pa, object_schema)
    expected = pa.Table.from_batches([] if python is None else [python], schema=object_schema)
    got = pa.Table.from_batches(batches, schema=object_schema)
    for name in object_schema.names:
        assert readable(got.column(name)) == readable(expected.column(name)), name
        assert got.column(name).equals(expected.column(name)), name
    assert unfit == rows.unfit
    return batch


# -- records: every format, typed fields of every type ----------------------------------------

TYPES = ["string", "int64", "float64", "bool", "timestamp"]
# Each name's own type and values that fit it, drawn more often than any other.
NATURAL: dict[str, tuple[str, st.SearchStrategy[Any]]] = {
    "user": ("string", st.text(max_size=8)),
    "n": ("int64", st.integers(-(2**63), 2**63 - 1)),
    "@timestamp": ("timestamp", iso_strings(strict=True)),
    "a.b": ("float64", FLOATS | st.integers(-(2**60), 2**60)),
    "event.created": ("timestamp", st.integers(-(10**18), 10**18) | FLOATS),
    "a": ("bool", st.booleans()),
    "ts": ("timestamp", st.integers(0, 2**63 - 1)),
}
FIELD_NAMES = list(NATURAL)
TYPED_VALUES = st.one_of(
    TIME_VALUES,
    INTS,
    FLOATS,
    st.sampled_from([True, False, None, 0, -0.0, 2**53 + 1, 2**63, "", "x", [], {}]),
    iso_strings(strict=True),
    st.text(max_size=8),
)


@st.composite
def typed_fields(draw: st.DrawFn) -> tuple[ParquetField, ...]:
    names = draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=8))
    return tuple(
        ParquetField(  # type: ignore[arg-type]
            name,
            NATURAL[name][0] if draw(st.booleans()) else draw(st.sampled_from(TYPES)),
            f"c{index}",
        )
        for index, name in enumerate(names)
    )


def _dumps(document: Any, how: int) -> bytes:
    try:
        if how == 0:
            return orjson.dumps(document)  # one line, embedded as it came
        if how == 1:
            return json.dumps(document, indent=2).encode()  # several lines: written again
        if how == 2:
            return json.dumps(document).encode()  # spaced, `\u` escapes
    except (orjson.JSONEncodeError, ValueError):
        return json.dumps(document).encode()
    # A float of 17 digits: Python's strict parser takes it, written again on one line.
    return json.dumps({**document, "pad": 0.30000000000000004}).encode()


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    document: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=6)):
        value = draw(NATURAL[name][1] if draw(st.integers(0, 2)) else TYPED_VALUES)
        if "." in name and draw(st.booleans()):
            head, tail = name.split(".", 1)
            inner = document.get(head)
            document[head] = {**(inner if isinstance(inner, dict) else {}), tail: value}
        else:
            document[name] = value
    if draw(st.booleans()):
        document["message"] = draw(st.text(max_size=10))
    return _dumps(document, draw(st.integers(0, 3)))


PAYLOADS = st.one_of(
    st.none(),
    documents(),
    documents(),
    documents(),
    documents(),
    json_texts(),
    st.sampled_from(TRICKY),
    st.binary(max_size=16),
    st.text(max_size=12).map(str.encode),
)


@st.composite
def records(draw: st.DrawFn) -> list[Record]:
    made = []
    for offset in range(draw(st.integers(0, 8))):
        made.append(
            Record(
                TOPIC,
                draw(st.sampled_from([3] * 12 + [0, 2**31 - 1, 2**31, -(2**31) - 1])),
                100 + offset,
                draw(st.sampled_from([-1, 0, 1764054000123, 2**62])),
                draw(st.sampled_from(["create"] * 5 + ["log_append"] * 2 + ["other"])),
                draw(PAYLOADS),
                draw(PAYLOADS),
                tuple(
                    draw(
                        st.lists(
                            st.tuples(
                                st.sampled_from(["", "trace", "é"]),
                                st.none() | st.binary(max_size=6),
                            ),
                            max_size=3,
                        )
                    )
                ),
            )
        )
    return made


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=records(),
    fields=typed_fields(),
    key_format=st.sampled_from(FORMATS),
    value_format=st.sampled_from(FORMATS),
    time_field=st.sampled_from(TIME_FIELDS),
    split=st.integers(0, 4),
)
def test_columns_are_the_python_rows(
    batch: list[Record],
    fields: tuple[ParquetField, ...],
    key_format: str,
    value_format: str,
    time_field: str | None,
    split: int,
) -> None:
    assert_columns(batch, fields, key_format, value_format, time_field, split=split)


@settings(max_examples=300, deadline=None)
@given(value=TYPED_VALUES, kind=st.sampled_from(TYPES), where=st.sampled_from(["top", "dotted"]))
def test_typed_values_convert_as_python(value: Any, kind: str, where: str) -> None:
    fields = (ParquetField("a.b", kind, "x"), ParquetField("b", kind, "y"))  # type: ignore[arg-type]
    document = {"a.b": value, "b": value} if where == "top" else {"a": {"b": value}}
    rec = Record(TOPIC, 0, 1, 2, "create", None, _dumps(document, 0))
    batch = assert_columns([rec], fields)
    plain = native.encode_batch([rec], "record", "auto", "auto", None)
    # Deferred for the columns only where the crate cannot be sure: an ISO-8601 string outside
    # its subset, or a negative zero (`-0` is an int to Python, `-0.0` a float) as a number.
    if batch.deferred != plain.deferred:
        assert kind in ("timestamp", "int64", "float64"), value
        assert isinstance(value, str) or value == 0, value


def test_common_typed_values_are_native() -> None:
    values = {"s": "alice", "i": -(2**63), "f": 0.1, "fi": 2**53, "b": False}
    values |= {"t": "2026-11-25T10:00:00.041+01:00", "te": 1764054000, "tm": 1764054000123}
    spec = "s:string,i:int64,f:float64,fi:float64,b:bool,t:timestamp,te:timestamp,tm:timestamp"
    spec += ",i:string,s:int64,missing:bool,n:int64"  # unfit, unfit, missing, null
    fields = tuple(
        ParquetField(*entry.split(":"), f"c{index}")  # type: ignore[misc]
        for index, entry in enumerate(spec.split(","))
    )
    value = orjson.dumps({**values, "n": None})
    batch = assert_columns([Record(TOPIC, 0, 1, 2, "create", b"k", value)], fields)
    assert batch.deferred == []
    columns = batch.columns(0, 1, native_fields(fields))
    assert columns.unfit == [0] * 8 + [1, 1, 0, 0]


# -- deferral: none on the benchmark's payloads ---------------------------------------------

LOG_FIELDS = "user:string,latency_ms:int64,bytes:int64,@timestamp:timestamp,level:string"
DOC_FIELDS = (
    "eventTime:timestamp,userIdentity.accountId:string,readOnly:bool,"
    "additionalEventData.bytesTransferredOut:int64,additionalEventData.bytesTransferredIn:float64,"
    "userIdentity.sessionContext.attributes.creationDate:timestamp,eventName:string"
)


@pytest.mark.parametrize(
    ("kind", "spec", "time_field"),
    [
        ("log", LOG_FIELDS, "@timestamp"),
        ("log", "", None),
        ("doc", DOC_FIELDS, "eventTime"),
        ("doc-floats", DOC_FIELDS, "eventTime"),
    ],
)
def test_no_deferral_on_log_lines_and_documents(kind: str, spec: str, time_field: str) -> None:
    values = _payloads(kind, 2000 if kind == "log" else 300)
    batch = [
        Record(TOPIC, 3, 100 + i, 1764000000000 + i, "create", f"host-{i % 40}".encode(), v)
        for i, v in enumerate(values)
    ]
    fields = parse_fields(spec)
    encoded = assert_columns(batch, fields, time_field=time_field, split=len(batch) // 3)
    assert encoded.deferred == []


def test_kafka_python_records() -> None:
    from kafka.consumer.fetcher import ConsumerRecord

    from handler.kafka.kafka_python.source import _record

    raws = [
        ConsumerRecord(TOPIC, 2, -1, 10, None, 1, b"k", b'{"n":1}', [("h", None)], None, 1, 1, 1),
        ConsumerRecord(TOPIC, 2, -1, 11, 5, 0, None, None, None, None, 1, 1, 1),
        ConsumerRecord(TOPIC, 2, -1, 12, 6, None, b"", b"\xff", [], None, 1, 1, 1),
    ]
    fields = parse_fields("n:int64")
    batch = assert_columns(
        raws, fields, kind="kafka-python", as_records=[_record(raw) for raw in raws]
    )
    assert batch.deferred == []


# -- what Parquet defers, and errors ------------------------------------------------------------


def test_parquet_defers_what_only_python_rows_take() -> None:
    odd = [
        Record(TOPIC, 0, 1, 2, "other", None, b"{}"),
        Record(TOPIC, 2**31, 2, 2, "create", None, b"{}"),
        Record(TOPIC, 0, 3, 2, "create", None, b'{"t":"2026-11-25"}'),
        Record(TOPIC, 0, 4, 2, "create", None, b'{"n":-0,"x":[1]}'),
        Record(TOPIC, 0, 5, 2, "create", None, b'{"t":"2026-11-25T00:00:00Z","n":0}'),
    ]
    spec = [("t", "timestamp"), ("n", "float64")]
    assert native.encode_batch(odd, "record", "auto", "auto", None, spec).deferred == [0, 1, 2, 3]
    assert native.encode_batch(odd, "record", "auto", "auto", None).deferred == []
    fields = (ParquetField("t", "timestamp", "t"), ParquetField("n", "float64", "n"))
    assert_columns(odd, fields)  # record 3's `t` column taken back when its `n` was unsure
    many = [(f"f{index}", "string") for index in range(65)]  # more than a walk follows
    assert native.encode_batch(odd[4:], "record", "auto", "auto", None, many).deferred == [0]
    assert native.encode_batch(odd[4:], "record", "auto", "auto", None, many[:64]).deferred == []


def test_columns_refuse_what_they_cannot_give() -> None:
    batch_records = [
        Record(TOPIC, 0, 1, 2, "create", None, b"{}"),
        Record(TOPIC, 0, 2, 2, "x", None, None),
    ]
    spec = [("n", "int64")]
    batch = native.encode_batch(batch_records, "record", "auto", "auto", None, spec)
    with pytest.raises(ValueError, match="record 1 was deferred"):
        batch.columns(0, 2, spec)
    with pytest.raises(ValueError, match="not those the batch was encoded with"):
        batch.columns(0, 1, [("n", "string")])
    with pytest.raises(ValueError, match="not those the batch was encoded with"):
        batch.columns(0, 1, [])
    with pytest.raises(IndexError):
        batch.columns(1, 3, spec)
    with pytest.raises(IndexError):
        batch.columns(1, 0, spec)
    assert batch.columns(1, 1, spec).count == 0
    plain = native.encode_batch(batch_records, "record", "auto", "auto", None)
    with pytest.raises(ValueError, match="pass the typed fields to encode_batch"):
        plain.columns(0, 1, spec)
    with pytest.raises(ValueError, match="string, int64, float64, bool, timestamp"):
        native.encode_batch(batch_records, "record", "auto", "auto", None, [("n", "int")])


def test_buffer_layouts() -> None:
    batch_records = [
        Record(TOPIC, 7, 10, -1, "create", b"ab", b'{"n":5,"ok":true}', (("h", b"v"),)),
        Record(TOPIC, 7, 11, 3, "log_append", None, b"text", (("h", None), ("g", b""))),
    ]
    spec = [("n", "int64"), ("ok", "bool"), ("n", "string")]
    columns = native.encode_batch(batch_records, "record", "auto", "auto", None, spec).columns(
        0, 2, spec
    )
    assert columns.partition == (7).to_bytes(4, "little") * 2
    assert columns.offset == b"".join(n.to_bytes(8, "little") for n in (10, 11))
    assert columns.timestamp == (-1).to_bytes(8, "little", signed=True) + (3).to_bytes(8, "little")
    assert columns.timestamp_type == b"\x00\x01"
    offsets = b"".join(n.to_bytes(4, "little") for n in (0, 2, 2))
    assert columns.key == (b"\x01", offsets, b"ab")
    assert columns.value == (b"\x02", b"".join(n.to_bytes(4, "little") for n in (0, 0, 4)), b"text")
    assert columns.value_json[0] == b"\x01"
    assert columns.value_json[2] == b'{"n":5,"ok":true}'
    assert columns.header_count == 3
    assert columns.header_offsets == b"".join(n.to_bytes(4, "little") for n in (0, 1, 3))
    assert columns.header_keys[0] is None and columns.header_keys[2] == b"hhg"
    assert columns.header_values[0] == b"\x05"  # the second header's value is null
    assert columns.typed[0] == (b"\x01", (5).to_bytes(8, "little") + bytes(8))
    assert columns.typed[1] == (b"\x01", b"\x01")  # bit-packed true, then a null
    assert columns.typed[2][0] == b"\x00"
    assert columns.unfit == [0, 0, 1]


def test_the_batch_keeps_the_buffers_alive() -> None:
    spec = [("user", "string")]
    made = [
        Record(TOPIC, 0, n, 0, "create", b"key-%d" % n, b'{"user":"u%d"}\n' % n, (("h", b"x"),))
        for n in range(50)
    ]
    batch = native.encode_batch(made, "record", "auto", "auto", None, spec)
    expected = [(r.key, r.value) for r in made]
    del made
    gc.collect()
    table = record_batch(batch.columns(0, 50, spec), TOPIC, schema(parse_fields("user:string")))
    pairs = zip(table.column("key").to_pylist(), table.column("value").to_pylist(), strict=True)
    assert list(pairs) == expected
    assert table.column("user").to_pylist() == [f"u{n}" for n in range(50)]
