"""The `SchemaDecoder` of a run (handler/format/registered.py): a framed key or value's schema
from the registry, once per id, its payload decoded under it, and the typed Parquet column of
its values; what it met, kept so a Parquet object can embed it (`embedded.py` reads it back)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from handler.format.registered import (
    HEADER_BYTES,
    Decoded,
    NotDecodable,
    ValueColumn,
    schema_id,
)
from handler.observe.logs import get_logger
from handler.registry import avro
from handler.registry.client import RegisteredSchema, SchemaSource
from handler.registry.protobuf import ProtobufSchema

log = get_logger()
# The registry's schema types, as the format names them.
_FORMATS = {"AVRO": "avro", "JSON": "jsonschema", "PROTOBUF": "protobuf"}


class RegistryDecoder:
    def __init__(self, registry: SchemaSource) -> None:
        self._registry = registry
        # One registry request per schema id a run meets, not one per record: an id the
        # registry does not have is remembered too.
        self._schemas: dict[int, RegisteredSchema | NotDecodable] = {}
        self._avro: dict[int, Any] = {}
        self._protobuf: dict[int, ProtobufSchema] = {}
        self._protobuf_files: dict[int, list[str]] = {}
        self._columns: dict[tuple[int, str | None], ValueColumn] = {}

    def _schema(self, found: int) -> RegisteredSchema:
        schema = self._schemas.get(found)
        if schema is None:
            try:
                schema = self._registry.schema(found)
            except NotDecodable as exc:
                schema = exc
            self._schemas[found] = schema
        if isinstance(schema, NotDecodable):
            raise NotDecodable(schema.error, schema.byte)
        return schema

    def decode(self, data: bytes, fmt: str) -> Decoded:
        found = schema_id(data)
        schema = self._schema(found)
        kind = _FORMATS.get(schema.schema_type)
        if kind is None:
            raise NotDecodable(f"schema id {found} is of the unknown type {schema.schema_type}", 1)
        if fmt not in ("registry", kind):
            raise NotDecodable(f"schema id {found} is a {schema.schema_type} schema, not {fmt}", 1)
        if kind == "protobuf":
            text, message = self._protobuf_schema(found).decode(data)
            return Decoded(text, kind, found, message=message)
        payload = memoryview(data)[HEADER_BYTES:]
        if kind == "avro":
            parsed = self._avro.get(found)
            if parsed is None:
                parsed = self._avro[found] = avro.parse(schema.text, found)
            # The time field reads the JSON forms (a timestamp's RFC 3339 text), as queries do.
            text, datum = avro.decode(payload, parsed, found)
            return Decoded(text, kind, found, datum=datum)
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise NotDecodable(f"not JSON under schema id {found}: {exc}", HEADER_BYTES) from exc
        return Decoded(orjson.dumps(document), kind, found, document)

    def _protobuf_schema(self, found: int) -> ProtobufSchema:
        known = self._protobuf.get(found)
        if known is None:
            files = self._protobuf_files[found] = self._registry.protobuf_files(found)
            known = self._protobuf[found] = ProtobufSchema(files, found)
        return known

    def value_column(self, decoded: Decoded) -> ValueColumn:
        column = self._columns.get(decoded.shape)
        if column is None:
            column = self._columns[decoded.shape] = self._value_column(decoded)
        return column

    def _value_column(self, decoded: Decoded) -> ValueColumn:
        import pyarrow

        if decoded.encoding == "jsonschema":
            return ValueColumn(pyarrow.string(), _json)
        try:
            if decoded.message is not None:
                from handler.registry.protobuf_columns import protobuf_column

                descriptor = self._protobuf_schema(decoded.schema_id).descriptor(decoded.message)
                arrow_type, convert = protobuf_column(pyarrow, descriptor)
            else:
                from handler.registry.avro_columns import avro_column

                text = self._schema(decoded.schema_id).text
                arrow_type, convert = avro_column(pyarrow, json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Stored as JSON text, not lost: a schema shape the mapping does not know.
            log.warning(
                "a schema's values are stored as JSON text: its typed column is not known",
                extra={"schema_id": decoded.schema_id, "error": str(exc)},
            )
            return ValueColumn(pyarrow.string(), _json)
        # Avro's column is made from fastavro's datum, Protobuf's from its JSON mapping.
        source = _datum if decoded.message is None else _document
        if convert is None:
            return ValueColumn(arrow_type, source)
        return ValueColumn(arrow_type, lambda value: convert(source(value)))

    def embedded(self) -> str:
        entries: dict[str, dict[str, Any]] = {}
        for found, schema in sorted(self._schemas.items()):
            if isinstance(schema, NotDecodable):
                entries[str(found)] = {"error": schema.error, "byte": schema.byte}
                continue
            entry: dict[str, Any] = {"type": schema.schema_type, "schema": schema.text}
            if found in self._protobuf_files:
                entry["files"] = self._protobuf_files[found]
            entries[str(found)] = entry
        return json.dumps(entries, sort_keys=True)


def _json(decoded: Decoded) -> bytes:
    return decoded.json


def _document(decoded: Decoded) -> Any:
    return decoded.document


def _datum(decoded: Decoded) -> Any:
    return decoded.datum
