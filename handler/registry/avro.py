"""Avro payloads read with fastavro under their writer's schema, written as JSON for query
engines. The JSON forms (docs/formats.md): records and maps are objects, arrays lists, a union
its branch's value, enums their symbol, `bytes` and `fixed` base64, `decimal` the exact decimal
as a string, `uuid` its text, `date` `YYYY-MM-DD`, `time-*` `HH:MM:SS[.ffffff]`,
`timestamp-*` RFC 3339 in UTC (`...Z`), `local-timestamp-*` without a zone; NaN and infinities
are null (the exact bytes are kept beside, so nothing is lost)."""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from typing import Any

import fastavro
import orjson

from handler.format.registered import NotDecodable

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def parse(text: str, schema_id: int) -> Any:
    try:
        return fastavro.parse_schema(json.loads(text))
    except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
        raise NotDecodable(
            f"schema id {schema_id} is not an Avro schema fastavro reads: {exc}", 1
        ) from exc


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} has no JSON form")


def json_forms(datum: Any) -> bytes:
    """A datum fastavro read, as JSON text in the documented forms."""
    return orjson.dumps(datum, default=_default, option=_OPTIONS)


def decode(payload: memoryview, schema: Any, schema_id: int) -> tuple[bytes, Any]:
    """The JSON text of the one Avro-encoded datum that fills `payload` exactly, and the
    datum as fastavro read it."""
    body = io.BytesIO(payload)
    try:
        datum = fastavro.schemaless_reader(body, schema, None)
    except Exception as exc:  # fastavro's reader raises what the bytes provoke: EOF, index, UTF-8
        raise NotDecodable(
            f"does not decode as Avro under schema id {schema_id}: {type(exc).__name__}: {exc}", 5
        ) from exc
    if body.tell() != len(payload):
        raise NotDecodable(
            f"{len(payload) - body.tell()} bytes left after the Avro datum of schema id "
            f"{schema_id}",
            5 + body.tell(),
        )
    return json_forms(datum), datum
