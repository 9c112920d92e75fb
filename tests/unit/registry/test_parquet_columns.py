"""Parquet objects of a Schema Registry value format, with schemas held in memory: the value in
a `value` column typed by its writer schema (Avro, Protobuf), its exact bytes in `value_raw`,
and the same records and JSON lines read back with the schemas the object embeds."""

from __future__ import annotations

import base64
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.format.envelope import Encoder
from handler.format.parquet import ParquetObjectWriter
from handler.format.parquet_reader import ParquetReader
from handler.format.parquet_registered_rows import RegisteredRows
from handler.format.registered import Decoded, ValueColumn
from handler.record import Record
from handler.registry.client import RegisteredSchema
from handler.registry.decoder import RegistryDecoder
from handler.registry.embedded import embedded_decoder
from tests.support.protobuf_messages import message_classes, reading_file
from tests.unit.registry.test_decoding import (
    AT,
    ID,
    LOGIN,
    LOGIN_DATUM,
    Schemas,
    avro_bytes,
    framed,
    protobuf_framed,
    schema_and_datum,
)


def at(offset: int, value: bytes | None) -> Record:
    return Record("t", 0, offset, 1_764_054_000_000, "create", b"k", value, (("h", b"v"),))


def written(
    decoder: RegistryDecoder, records: list[Record], value_format: str = "avro", **kwargs: Any
) -> bytes:
    encoder = Encoder(value_format=value_format, schemas=decoder)  # type: ignore[arg-type]
    writer = ParquetObjectWriter(value_format=value_format, schemas=decoder, **kwargs)  # type: ignore[arg-type]
    for record in records:
        writer.add(record, encoder.encode(record))
    return writer.seal().body.read()


def read_back(data: bytes, records: list[Record], value_format: str = "avro") -> pa.Table:
    """The object's table, once its records came back exact and its lines are those the
    records encode to (under the schemas it embeds, the registry gone)."""
    with ParquetReader(io.BytesIO(data)) as reader:
        assert list(reader.records()) == records
        embedded = embedded_decoder(reader.info.schemas)
        encoder = Encoder(value_format=value_format, schemas=embedded)  # type: ignore[arg-type]
        assert list(reader.lines(embedded_decoder)) == [encoder.encode(r).line for r in records]
    return pq.read_table(io.BytesIO(data))


def avro_schemas() -> RegistryDecoder:
    return RegistryDecoder(Schemas({3: RegisteredSchema("AVRO", json.dumps(LOGIN))}))


def test_an_avro_value_is_a_struct_of_its_writer_schema() -> None:
    data = framed(3, avro_bytes(LOGIN, LOGIN_DATUM))
    table = read_back(written(avro_schemas(), [at(0, data)]), [at(0, data)])
    value = table.schema.field("value").type
    assert value == pa.struct(
        [
            ("user", pa.string()),
            ("ok", pa.bool_()),
            ("at", pa.timestamp("ms", tz="UTC")),
            ("day", pa.date32()),
            ("amount", pa.decimal128(9, 2)),
            ("id", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("attrs", pa.map_(pa.string(), pa.int64())),
            ("note", pa.string()),
            ("raw", pa.binary()),
            ("kind", pa.string()),
        ]
    )
    row = table.to_pylist(maps_as_pydicts="strict")[0]
    assert row["value"] == {
        **LOGIN_DATUM,
        "at": AT,
        "day": date(2026, 12, 3),
        "amount": Decimal("1234.50"),
        "id": str(ID),
    }
    assert (row["value_schema_id"], row["value_raw"]) == (3, data)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(pair=schema_and_datum(), schema_id=st.integers(0, 2**31 - 1))
def test_any_avro_datum_is_its_typed_value_and_its_exact_bytes(
    pair: tuple[Any, Any], schema_id: int
) -> None:
    schema, datum = pair
    decoder = RegistryDecoder(Schemas({schema_id: RegisteredSchema("AVRO", json.dumps(schema))}))
    records = [at(0, framed(schema_id, avro_bytes(schema, datum)))]
    table = read_back(written(decoder, records), records)
    assert table.to_pylist(maps_as_pydicts="strict")[0]["value"] == datum


def test_a_protobuf_value_is_a_struct_of_its_message_type() -> None:
    reading_class = message_classes()[0]
    text = base64.b64encode(reading_file().SerializeToString()).decode()
    decoder = RegistryDecoder(Schemas({9: RegisteredSchema("PROTOBUF", text)}))
    reading = reading_class(sensor="s1", value=2.5, count=2**60, kind=1, raw=b"\x00\xff")
    reading.tags.extend(["a", "b"])
    reading.at.FromJsonString("2026-12-03T12:30:00.123Z")
    records = [at(0, protobuf_framed(9, [0], reading)), at(1, protobuf_framed(9, [0], reading))]
    table = read_back(written(decoder, records, "protobuf"), records, "protobuf")
    value = table.schema.field("value").type
    assert value.field("count").type == pa.int64() and value.field("raw").type == pa.binary()
    assert value.field("at").type == pa.timestamp("us", tz="UTC")
    assert value.field("inner").type == pa.struct([("note", pa.string())])
    row = table.to_pylist()[0]["value"]
    assert (row["count"], row["kind"], row["raw"], row["tags"]) == (
        2**60,
        "KIND_HOT",
        b"\x00\xff",
        ["a", "b"],
    )
    assert row["at"] == AT and row["inner"] is None  # a message field not set


def test_what_does_not_decode_keeps_its_bytes_with_a_null_value() -> None:
    good = framed(3, avro_bytes(LOGIN, LOGIN_DATUM))
    records = [
        at(0, None),  # a tombstone
        at(1, b"plain"),  # not framed
        at(2, framed(77, b"\x02")),  # an id the registry does not have
        at(3, good),
    ]
    table = read_back(written(avro_schemas(), records), records)
    assert table.column("value_raw").to_pylist() == [record.value for record in records]
    assert table.column("value_schema_id").to_pylist() == [None, None, None, 3]
    assert [row is None for row in table.column("value").to_pylist()] == [1, 1, 1, 0]


def test_a_value_of_another_schema_is_refused_and_kept_raw_where_a_repair_takes_it() -> None:
    other = {"type": "record", "name": "Other", "fields": [{"name": "n", "type": "long"}]}
    schemas = Schemas(
        {
            3: RegisteredSchema("AVRO", json.dumps(LOGIN)),
            4: RegisteredSchema("AVRO", json.dumps(other)),
        }
    )
    decoder = RegistryDecoder(schemas)
    encoder = Encoder(value_format="avro", schemas=decoder)
    writer = ParquetObjectWriter(value_format="avro", schemas=decoder)
    first, second = at(0, framed(3, avro_bytes(LOGIN, LOGIN_DATUM))), at(1, framed(4, b"\x02"))
    writer.add(first, encoder.encode(first))
    # Rotation asks first: a new schema starts a new object; a tombstone joins any.
    assert not writer.accepts(encoder.encode(second)) and writer.accepts(
        encoder.encode(at(1, None))
    )
    writer.add(second, encoder.encode(second))  # a repair takes its range whole
    data = writer.seal().body.read()
    table = read_back(data, [first, second])
    assert table.column("value_schema_id").to_pylist() == [3, 4]
    assert table.column("value").to_pylist()[1] is None
    with ParquetReader(io.BytesIO(data)) as reader:
        assert reader.info.value_schema_ids == (3, 4)


def test_a_row_group_before_any_decoded_value_types_the_column_by_none() -> None:
    decoder = avro_schemas()
    encoder = Encoder(value_format="avro", schemas=decoder)
    writer = ParquetObjectWriter(value_format="avro", schemas=decoder, row_group_bytes=1)
    writer.add(at(0, None), encoder.encode(at(0, None)))  # written at once: no schema yet
    good = at(1, framed(3, avro_bytes(LOGIN, LOGIN_DATUM)))
    assert not writer.accepts(encoder.encode(good))
    table = read_back(writer.seal().body.read(), [at(0, None)])
    assert table.schema.field("value").type == pa.null()


def test_a_value_its_column_cannot_hold_is_null_and_counted() -> None:
    rows = RegisteredRows(Encoder())
    rows.pin(ValueColumn(pa.int8(), lambda decoded: decoded.document), (1, None))
    encoder = Encoder()
    for offset, number in enumerate((5, 500)):
        decoded = Decoded(b"%d" % number, "avro", 1, number)
        rows.add(at(offset, b"x"), encoder.encode(at(offset, b"x"))._replace(registered=decoded))
    schema = pa.schema(
        [
            *[pa.field(name, pa.string()) for name in ("topic",)],
            pa.field("partition", pa.int32()),
            pa.field("offset", pa.int64()),
            pa.field("timestamp", pa.timestamp("ms", tz="UTC")),
            pa.field("timestamp_type", pa.string()),
            pa.field("key", pa.binary()),
            pa.field("value", pa.int8()),
            pa.field(
                "headers", pa.list_(pa.struct([("key", pa.string()), ("value", pa.binary())]))
            ),
            pa.field("value_schema_id", pa.int32()),
            pa.field("value_raw", pa.binary()),
        ]
    )
    batch = rows.batch(pa, schema)
    assert batch.column(6).to_pylist() == [5, None] and rows.unfit == {"value": 1}
    assert batch.column(9).to_pylist() == [b"x", b"x"]
