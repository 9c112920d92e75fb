"""The `SchemaDecoder` of a run (handler/format/registered.py): a framed key or value's schema
from the registry, once per id, and its payload decoded under it."""

from __future__ import annotations

from typing import Any

import orjson

from handler.format.registered import HEADER_BYTES, Decoded, NotDecodable, schema_id
from handler.registry import avro
from handler.registry.client import RegisteredSchema, Registry
from handler.registry.protobuf import ProtobufSchema

# The registry's schema types, as the format names them.
_FORMATS = {"AVRO": "avro", "JSON": "jsonschema", "PROTOBUF": "protobuf"}


class RegistryDecoder:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        # One registry request per schema id a run meets, not one per record.
        self._schemas: dict[int, RegisteredSchema] = {}
        self._avro: dict[int, Any] = {}
        self._protobuf: dict[int, ProtobufSchema] = {}

    def decode(self, data: bytes, fmt: str) -> Decoded:
        found = schema_id(data)
        schema = self._schemas.get(found)
        if schema is None:
            schema = self._schemas[found] = self._registry.schema(found)
        kind = _FORMATS.get(schema.schema_type)
        if kind is None:
            raise NotDecodable(f"schema id {found} is of the unknown type {schema.schema_type}", 1)
        if fmt not in ("registry", kind):
            raise NotDecodable(f"schema id {found} is a {schema.schema_type} schema, not {fmt}", 1)
        if kind == "protobuf":
            known = self._protobuf.get(found)
            if known is None:
                files = self._registry.protobuf_files(found)
                known = self._protobuf[found] = ProtobufSchema(files, found)
            text = known.decode(data)
            return Decoded(text, kind, found, orjson.loads(text))
        payload = memoryview(data)[HEADER_BYTES:]
        if kind == "avro":
            parsed = self._avro.get(found)
            if parsed is None:
                parsed = self._avro[found] = avro.parse(schema.text, found)
            text = avro.decode(payload, parsed, found)
            # The time field reads the JSON forms (a timestamp's RFC 3339 text), as queries do.
            return Decoded(text, kind, found, orjson.loads(text))
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise NotDecodable(f"not JSON under schema id {found}: {exc}", HEADER_BYTES) from exc
        return Decoded(orjson.dumps(document), kind, found, document)
