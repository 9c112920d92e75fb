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
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import orjson

from handler.config.registry_settings import REGISTRY_ENCODINGS as _ENCODINGS

REGISTRY_ENCODINGS = frozenset(_ENCODINGS)
"""The encodings a line names for a field decoded through the registry."""

MAGIC_BYTE = 0
HEADER_BYTES = 5
_UNPARSED: Any = object()


class Decoded:
    """A key or value decoded under its schema."""

    __slots__ = ("_document", "datum", "encoding", "json", "message", "schema_id")

    def __init__(
        self,
        json: bytes,
        encoding: str,
        schema_id: int,
        document: Any = _UNPARSED,
        message: str | None = None,
        datum: Any = None,
    ) -> None:
        self.json = json
        """The decoded value as compact JSON text."""
        self.encoding = encoding
        self.schema_id = schema_id
        self._document = document
        self.message = message
        """For Protobuf, the full name of the message type (a schema may define several)."""
        self.datum = datum
        """For Avro, the datum as fastavro read it (typed Parquet columns are made from it)."""

    @property
    def shape(self) -> tuple[int, str | None]:
        """What a typed Parquet column is made for: the schema id, and for Protobuf the
        message type."""
        return self.schema_id, self.message

    @property
    def document(self) -> Any:
        """The decoded value's JSON forms, parsed from `json` when first asked for (the time
        field and typed Parquet columns read it; JSON lines need only the text)."""
        if self._document is _UNPARSED:
            self._document = orjson.loads(self.json)
        return self._document


class NotDecodable(ValueError):
    """A key or value that its format cannot read: an invalid record, kept with the reason."""

    def __init__(self, error: str, byte: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.byte = byte


class ValueColumn(NamedTuple):
    """How a Parquet object holds the values of one schema id in its `value` column."""

    arrow_type: Any
    """The column's pyarrow type, from the writer schema."""
    convert: Callable[[Decoded], Any]
    """What pyarrow builds the column from, of one decoded value."""


class SchemaDecoder(Protocol):
    def decode(self, data: bytes, fmt: str) -> Decoded:
        """`data` under `fmt` (avro, jsonschema or registry); NotDecodable when it is not in
        the wire format, names an unknown schema or does not decode. A registry that refuses
        the credentials raises AuthError, one that cannot be reached TransientError."""
        ...

    def value_column(self, decoded: Decoded) -> ValueColumn:
        """The typed column of the values decoded under the schema (and for Protobuf the
        message type) of `decoded`, one this decoder made."""
        ...

    def embedded(self) -> str:
        """Every schema id met so far with what a reader needs to decode it without the
        registry (the schema, or the error it gave), as JSON text: a Parquet object keeps it
        in its footer."""
        ...


EmbeddedDecoders = Callable[[str], SchemaDecoder]
"""Makes the decoder of the schemas an object embeds (`SchemaDecoder.embedded`)."""


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
