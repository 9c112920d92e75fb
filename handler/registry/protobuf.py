"""Protobuf payloads read with the protobuf library under their writer's schema, written as
JSON for query engines. The registry serves a Protobuf schema as a serialized
FileDescriptorProto (`format=serialized`, what confluent-kafka's own deserializer asks for),
with the schemas it imports as references; the payload starts with the message indexes that
name the message type within it (confluent-kafka's `SchemaId` reads them).

The JSON forms are protobuf's JSON mapping (`json_format.MessageToDict`): the `.proto` field
names, every field present (defaults included), enums by name, `bytes` base64, int64 as a
number where a double holds it exactly (else a string), well-known types in their JSON form
(`Timestamp` RFC 3339)."""

from __future__ import annotations

import base64
import io
from typing import Any

import orjson
from confluent_kafka.schema_registry.serde import SchemaId
from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    empty_pb2,
    field_mask_pb2,
    json_format,
    message_factory,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.message import DecodeError

from handler.format.registered import NotDecodable

# The well-known types a schema may import without a reference of its own.
_WELL_KNOWN = (
    any_pb2,
    duration_pb2,
    empty_pb2,
    field_mask_pb2,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)


class ProtobufSchema:
    """One registered Protobuf schema: its file, in a pool with every file it imports."""

    def __init__(self, files: list[str], schema_id: int) -> None:
        """`files`: the base64 FileDescriptorProtos, each after those it imports, the
        schema's own last."""
        self._pool = descriptor_pool.DescriptorPool()
        for known in _WELL_KNOWN:
            self._pool.AddSerializedFile(known.DESCRIPTOR.serialized_pb)
        try:
            protos = [
                descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(f)) for f in files
            ]
            for proto in protos:
                self._pool.Add(proto)
            self._file = protos[-1]
        except (ValueError, TypeError, DecodeError, KeyError) as exc:
            raise NotDecodable(
                f"schema id {schema_id} is not a Protobuf schema the protobuf library reads "
                f"(the registry must serve it serialized): {exc}",
                1,
            ) from exc
        self._schema_id = schema_id
        self._classes: dict[tuple[int, ...], Any] = {}

    def decode(self, data: bytes) -> tuple[bytes, str]:
        """The JSON text of the message a framed value holds, and its type's full name."""
        body = io.BytesIO(data)
        framing = SchemaId("PROTOBUF")
        try:
            framing.from_bytes(body)
            indexes = tuple(framing.message_indexes or [0])
            message = self._message_class(indexes)()
            message.ParseFromString(body.read())
        except (DecodeError, ValueError, IndexError, EOFError) as exc:
            raise NotDecodable(
                f"does not decode as Protobuf under schema id {self._schema_id}: {exc}", 5
            ) from exc
        document = json_format.MessageToDict(
            message,
            always_print_fields_with_no_presence=True,
            preserving_proto_field_name=True,
            unquote_int64_if_possible=True,
        )
        return orjson.dumps(document), message.DESCRIPTOR.full_name

    def descriptor(self, full_name: str) -> Any:
        """The descriptor of a message type of the schema."""
        return self._pool.FindMessageTypeByName(full_name)

    def _message_class(self, indexes: tuple[int, ...]) -> Any:
        """The message type the indexes name: the file's Nth message, then its Mth nested..."""
        known = self._classes.get(indexes)
        if known is not None:
            return known
        names: list[str] = []
        candidates = list(self._file.message_type)
        for index in indexes:
            if not 0 <= index < len(candidates):
                raise IndexError(f"message index {list(indexes)} names no message of the schema")
            names.append(candidates[index].name)
            candidates = list(candidates[index].nested_type)
        full_name = ".".join([self._file.package, *names] if self._file.package else names)
        made = self._classes[indexes] = message_factory.GetMessageClass(
            self._pool.FindMessageTypeByName(full_name)
        )
        return made
