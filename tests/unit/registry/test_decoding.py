"""Keys and values in a Schema Registry's wire format through the encoder, with schemas held in
memory (the real registry is tests/integration/test_registry.py's): Avro decoded into JSON,
the exact bytes given back by `decode_line`, and every value that cannot be read an invalid
record that keeps its bytes."""

from __future__ import annotations

import base64
import io
import itertools
import json
import struct
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro
import orjson
import pytest
from confluent_kafka.schema_registry.serde import SchemaId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.errors import TransientError
from handler.format.envelope import Encoder, decode_line
from handler.format.registered import NotDecodable
from handler.record import Record
from handler.registry.client import RegisteredSchema
from handler.registry.decoder import RegistryDecoder
from tests.support.protobuf_messages import message_classes, reading_file


class Schemas:
    """The `Registry` interface over schemas in memory, counting what it is asked."""

    def __init__(self, schemas: dict[int, RegisteredSchema] | None = None) -> None:
        self.schemas = schemas or {}
        self.asked: list[int] = []
        """The schema ids asked for; negative: asked for serialized (Protobuf)."""
        self.down = False

    def schema(self, schema_id: int) -> RegisteredSchema:
        self.asked.append(schema_id)
        if self.down:
            raise TransientError("the Schema Registry cannot be reached")
        if schema_id not in self.schemas:
            raise NotDecodable(f"schema id {schema_id} is not in the Schema Registry", 1)
        return self.schemas[schema_id]

    def protobuf_files(self, schema_id: int) -> list[str]:
        # The registry serves a Protobuf schema serialized: here, its text is that already.
        self.asked.append(-schema_id)
        return [self.schemas[schema_id].text]


def framed(schema_id: int, payload: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", schema_id) + payload


def avro_bytes(schema: Any, datum: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), datum)
    return out.getvalue()


def encoder(schemas: Schemas, value_format: str = "avro", **kwargs: Any) -> Encoder:
    return Encoder(value_format=value_format, schemas=RegistryDecoder(schemas), **kwargs)  # type: ignore[arg-type]


def record(value: bytes | None, key: bytes | None = b"k") -> Record:
    return Record("t", 0, 7, 1_764_054_000_000, "create", key, value, (("h", b"v"),))


LOGIN = {
    "type": "record",
    "name": "Login",
    "fields": [
        {"name": "user", "type": "string"},
        {"name": "ok", "type": "boolean"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        },
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "raw", "type": "bytes"},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
    ],
}
AT = datetime(2026, 12, 3, 12, 30, 0, 123000, tzinfo=UTC)
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
LOGIN_DATUM = {
    "user": "alice",
    "ok": True,
    "at": AT,
    "day": date(2026, 12, 3),
    "amount": Decimal("1234.50"),
    "id": str(ID),
    "tags": ["ssh", "mfa"],
    "attrs": {"tries": 2},
    "note": None,
    "raw": b"\x00\xff",
    "kind": "B",
}


def test_avro_value_becomes_json_with_its_schema_id_and_the_exact_bytes() -> None:
    schemas = Schemas({42: RegisteredSchema("AVRO", json.dumps(LOGIN))})
    data = framed(42, avro_bytes(LOGIN, LOGIN_DATUM))
    encoded = encoder(schemas, time_field="at").encode(record(data))
    line = orjson.loads(encoded.line)
    assert encoded.problems == ()
    assert line["value_encoding"] == "avro" and line["value_schema_id"] == 42
    assert line["value"] == {
        "user": "alice",
        "ok": True,
        "at": "2026-12-03T12:30:00.123000Z",
        "day": "2026-12-03",
        "amount": "1234.50",
        "id": str(ID),
        "tags": ["ssh", "mfa"],
        "attrs": {"tries": 2},
        "note": None,
        "raw": "AP8=",
        "kind": "B",
    }
    # The keys and the order of the line: the value's entries follow its encoding.
    assert list(line)[7:11] == ["value", "value_encoding", "value_schema_id", "value_raw"]
    assert encoded.event_time == int(AT.timestamp() * 1000) and encoded.time_from_field
    assert decode_line(encoded.line) == record(data)


def test_one_registry_request_per_schema_id() -> None:
    schemas = Schemas({1: RegisteredSchema("AVRO", json.dumps(LOGIN))})
    enc = encoder(schemas)
    for _ in range(50):
        enc.encode(record(framed(1, avro_bytes(LOGIN, LOGIN_DATUM))))
    assert schemas.asked == [1]


def test_registry_format_follows_the_schema_type() -> None:
    schemas = Schemas(
        {
            1: RegisteredSchema("AVRO", '"string"'),
            2: RegisteredSchema("JSON", '{"type": "object"}'),
            3: RegisteredSchema("PROTOBUF", "syntax = 'proto3';"),
        }
    )
    enc = encoder(schemas, value_format="registry")
    avro_line = orjson.loads(enc.encode(record(framed(1, avro_bytes("string", "hé")))).line)
    assert (avro_line["value"], avro_line["value_encoding"]) == ("hé", "avro")
    json_value = framed(2, b'{"user": "bob", "n": [1, 2.5]}')
    json_line = orjson.loads(enc.encode(record(json_value)).line)
    assert json_line["value"] == {"user": "bob", "n": [1, 2.5]}
    assert json_line["value_encoding"] == "jsonschema" and json_line["value_schema_id"] == 2
    assert decode_line(enc.encode(record(json_value)).line).value == json_value
    protobuf = enc.encode(record(framed(3, b"\x00\x0a\x01x")))
    assert [p.field for p in protobuf.problems] == ["value"]
    assert "not a Protobuf schema the protobuf library reads" in protobuf.problems[0].error
    # A format names one schema type: another is the record's problem.
    avro_only = encoder(schemas, value_format="avro").encode(record(json_value))
    assert "is a JSON schema, not avro" in avro_only.problems[0].error


@pytest.mark.parametrize(
    ("data", "error", "byte"),
    [
        (b'{"user": "x"}', "the first byte is 0x7b, not 0", 0),
        (b"\x00\x00\x00", "shorter than the 5-byte header", None),
        (framed(99, b"\x02"), "schema id 99 is not in the Schema Registry", 1),
        (framed(1, b""), "does not decode as Avro under schema id 1", 5),
        (framed(1, avro_bytes("string", "ok") + b"\x00"), "1 bytes left after the Avro datum", 8),
    ],
)
def test_values_that_do_not_decode_are_invalid_and_kept(
    data: bytes, error: str, byte: int | None
) -> None:
    encoded = encoder(Schemas({1: RegisteredSchema("AVRO", '"string"')})).encode(record(data))
    assert len(encoded.problems) == 1
    problem = encoded.problems[0]
    assert problem.field == "value" and error in problem.error and problem.byte == byte
    line = orjson.loads(encoded.line)
    assert line["value_encoding"] == "base64" and "value_raw" not in line
    assert line["invalid"][0]["error"] == problem.error
    assert decode_line(encoded.line).value == data


def test_a_registry_that_cannot_be_reached_stops_the_encoding() -> None:
    schemas = Schemas({1: RegisteredSchema("AVRO", '"string"')})
    schemas.down = True
    with pytest.raises(TransientError, match="cannot be reached"):
        encoder(schemas).encode(record(framed(1, avro_bytes("string", "x"))))


def test_keys_decode_the_same_way() -> None:
    schemas = Schemas({5: RegisteredSchema("AVRO", '"long"')})
    enc = Encoder("avro", "auto", schemas=RegistryDecoder(schemas))
    key = framed(5, avro_bytes("long", 123456789))
    line = orjson.loads(enc.encode(record(b'{"a":1}', key=key)).line)
    assert (line["key"], line["key_encoding"], line["key_schema_id"]) == (123456789, "avro", 5)
    assert list(line)[5:9] == ["key", "key_encoding", "key_schema_id", "key_raw"]
    assert line["value_encoding"] == "json"
    assert decode_line(enc.encode(record(b'{"a":1}', key=key)).line).key == key


# -- any schema, any datum -------------------------------------------------------------------

_RECORD_NAMES = itertools.count()  # a schema's record names are unique
_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
_PRIMITIVES: list[tuple[Any, st.SearchStrategy[Any]]] = [
    ("null", st.none()),
    ("boolean", st.booleans()),
    ("int", st.integers(-(2**31), 2**31 - 1)),
    ("long", st.integers(-(2**63), 2**63 - 1)),
    ("double", st.floats(allow_nan=False, allow_infinity=False)),
    ("string", st.text(max_size=12)),
]


@st.composite
def schema_and_datum(draw: st.DrawFn, depth: int = 0) -> tuple[Any, Any]:
    """An Avro schema and a datum of it whose JSON form is the datum itself (no logical types,
    bytes or 32-bit floats: those have their own forms, tested above)."""
    choice = draw(st.integers(0, 9 if depth < 2 else 5))
    if choice <= 5:
        schema, values = _PRIMITIVES[choice]
        return schema, draw(values)
    if choice == 6:
        items, item = draw(schema_and_datum(depth + 1))
        return {"type": "array", "items": items}, [item] * draw(st.integers(0, 3))
    if choice == 7:
        values, value = draw(schema_and_datum(depth + 1))
        return {"type": "map", "values": values}, {draw(st.text(max_size=5)): value}
    if choice == 8:
        inner, value = draw(schema_and_datum(depth + 1))
        if inner == "null" or (isinstance(inner, dict) and inner.get("type") == "union"):
            return inner, value
        return ["null", inner], draw(st.sampled_from([None, value]))
    names = draw(st.lists(_names, min_size=1, max_size=4, unique=True))
    fields = [(name, draw(schema_and_datum(depth + 1))) for name in names]
    schema = {
        "type": "record",
        "name": f"R{next(_RECORD_NAMES)}",
        "fields": [{"name": name, "type": field[0]} for name, field in fields],
    }
    return schema, {name: field[1] for name, field in fields}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(pair=schema_and_datum(), schema_id=st.integers(0, 2**31 - 1))
def test_any_avro_datum_is_its_json_and_its_exact_bytes(
    pair: tuple[Any, Any], schema_id: int
) -> None:
    schema, datum = pair
    schemas = Schemas({schema_id: RegisteredSchema("AVRO", json.dumps(schema))})
    data = framed(schema_id, avro_bytes(schema, datum))
    encoded = encoder(schemas).encode(record(data))
    assert encoded.problems == ()
    line = orjson.loads(encoded.line)
    assert line["value"] == datum
    assert line["value_schema_id"] == schema_id
    assert decode_line(encoded.line).value == data


# -- Protobuf ----------------------------------------------------------------------------------


def protobuf_framed(schema_id: int, indexes: list[int], message: Any) -> bytes:
    return (
        SchemaId("PROTOBUF", schema_id, None, indexes).id_to_bytes() + message.SerializeToString()
    )


def test_protobuf_value_becomes_json_under_its_message_index() -> None:
    reading_class, other_class, inner_class = message_classes()
    text = base64.b64encode(reading_file().SerializeToString()).decode()
    schemas = Schemas({9: RegisteredSchema("PROTOBUF", text)})
    enc = encoder(schemas, value_format="protobuf", time_field="at")
    reading = reading_class(
        sensor="s1", value=2.5, count=2**40, kind=1, raw=b"\x00\xff", tags=["a", "b"]
    )
    reading.at.FromJsonString("2026-12-03T12:30:00.123Z")
    reading.inner.note = "n"
    data = protobuf_framed(9, [0], reading)
    encoded = enc.encode(record(data))
    assert encoded.problems == ()
    line = orjson.loads(encoded.line)
    assert (line["value_encoding"], line["value_schema_id"]) == ("protobuf", 9)
    assert line["value"] == {
        "sensor": "s1",
        "value": 2.5,
        "count": 2**40,
        "kind": "KIND_HOT",
        "raw": "AP8=",
        "at": "2026-12-03T12:30:00.123Z",
        "inner": {"note": "n"},
        "tags": ["a", "b"],
    }
    assert encoded.event_time == 1796301000123 and encoded.time_from_field
    assert decode_line(encoded.line).value == data
    # The second message of the file, and one field at its default, still present.
    other = orjson.loads(enc.encode(record(protobuf_framed(9, [1], other_class()))).line)
    assert other["value"] == {"ok": False}
    nested = orjson.loads(
        enc.encode(record(protobuf_framed(9, [0, 0], inner_class(note="x")))).line
    )
    assert nested["value"] == {"note": "x"}
    assert schemas.asked == [9, -9]  # its type, then it serialized: once for every record


@pytest.mark.parametrize(
    ("indexes", "payload", "error"),
    [
        ([5], b"", "names no message of the schema"),
        ([0], b"\x0a\x05ab", "does not decode as Protobuf under schema id 9"),
    ],
)
def test_protobuf_values_that_do_not_decode_are_invalid(
    indexes: list[int], payload: bytes, error: str
) -> None:
    text = base64.b64encode(reading_file().SerializeToString()).decode()
    enc = encoder(Schemas({9: RegisteredSchema("PROTOBUF", text)}), value_format="registry")
    data = SchemaId("PROTOBUF", 9, None, indexes).id_to_bytes() + payload
    encoded = enc.encode(record(data))
    assert len(encoded.problems) == 1 and error in encoded.problems[0].error
    assert decode_line(encoded.line).value == data
