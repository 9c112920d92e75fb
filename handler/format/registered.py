"""Keys and values in a Schema Registry's wire format (magic byte 0, a 4-byte big-endian schema
id, then the Avro, Protobuf or JSON Schema payload), as the stored line holds them: the value
decoded into JSON for query engines, with its encoding (`avro`, `protobuf`, `jsonschema`) and
schema id, and the exact bytes as they came in `<field>_raw` (base64, wire header included),
which is what `decode` and every reconciliation give back. Decoding is the `SchemaDecoder`'s,
which reaches the registry (handler/registry/); this module keeps the format's side of it, no
I/O.
"""

from __future__ import annotations

import base64
from typing import Any, NamedTuple, Protocol

from handler.config.registry_settings import REGISTRY_ENCODINGS as _ENCODINGS

REGISTRY_ENCODINGS = frozenset(_ENCODINGS)
"""The encodings a line names for a field decoded through the registry."""

MAGIC_BYTE = 0
HEADER_BYTES = 5


class Decoded(NamedTuple):
    json: bytes
    """The decoded value as compact JSON text."""
    encoding: str
    schema_id: int
    document: Any
    """The decoded value itself (the time field reads it)."""


class NotDecodable(ValueError):
    """A key or value that its format cannot read: an invalid record, kept with the reason."""

    def __init__(self, error: str, byte: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.byte = byte


class SchemaDecoder(Protocol):
    def decode(self, data: bytes, fmt: str) -> Decoded:
        """`data` under `fmt` (avro, jsonschema or registry); NotDecodable when it is not in
        the wire format, names an unknown schema or does not decode. A registry that refuses
        the credentials raises AuthError, one that cannot be reached TransientError."""
        ...


def schema_id(data: bytes) -> int:
    """The schema id of a framed key or value; NotDecodable when it is not framed."""
    if len(data) < HEADER_BYTES:
        raise NotDecodable(
            f"not in the Schema Registry wire format: {len(data)} bytes, shorter than the "
            f"{HEADER_BYTES}-byte header",
            None,
        )
    if data[0] != MAGIC_BYTE:
        raise NotDecodable(
            f"not in the Schema Registry wire format: the first byte is {data[0]:#04x}, not 0",
            0,
        )
    return int.from_bytes(data[1:HEADER_BYTES], "big")


def raw_field(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def rebuild_raw(document: dict[str, Any], field: str) -> bytes:
    """The exact bytes of a registry-decoded field of a stored line."""
    return base64.b64decode(str(document[f"{field}_raw"]), validate=True)
