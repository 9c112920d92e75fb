"""The stored format: one JSON line per Kafka record, lossless.

Each key, value and header value carries an explicit encoding so a reader never guesses:

- `json`: valid UTF-8 JSON, embedded as JSON; rebuilt equal as a JSON value (whitespace and
  number spelling are not kept);
- `utf8`: any other valid UTF-8, as a string, byte for byte;
- `base64`: anything else, byte for byte;
- a null key or value (a tombstone) is `null` with a `null` encoding.

A JSON document that would not come back as the same value (integers beyond 64 bits, floats
with more digits than a double holds, duplicate object keys, NaN/Infinity, lone surrogates,
nesting deeper than the encoder allows) is stored as `utf8` instead. Header values are stored as
`utf8` or `base64` only: they are identifiers and types, rarely documents.

Over 300 lines because the format is one rule read two ways: what the encoder embeds as JSON
and what the decoder rebuilds from it must agree, so both halves and the lossless JSON check
between them are kept together.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from handler.config.registry_settings import REGISTRY_FORMATS
from handler.config.values import FieldFormat
from handler.format.event_time import parse_event_time
from handler.format.json_fields import JsonField
from handler.format.registered import (
    REGISTRY_ENCODINGS,
    Decoded,
    NotDecodable,
    SchemaDecoder,
    raw_field,
    rebuild_raw,
)
from handler.record import Record

ENCODING_JSON = "json"
ENCODING_UTF8 = "utf8"
ENCODING_BASE64 = "base64"

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1
_MAX_FLOAT_DIGITS = 17  # a double round-trips every decimal of up to 17 significant digits


class _NotLossless(ValueError):
    """The text is JSON, but parsing it would not give back the same value."""


def _parse_int(text: str) -> int:
    number = int(text)
    if not _INT_MIN <= number <= _INT_MAX:
        raise _NotLossless("integer beyond 64 bits")
    return number


def _parse_float(text: str) -> float:
    number = float(text)
    mantissa = text.lower().split("e", 1)[0]
    digits = mantissa.replace("-", "").replace(".", "").lstrip("0")
    if not math.isfinite(number) or len(digits) > _MAX_FLOAT_DIGITS:
        raise _NotLossless("float beyond double precision")
    return number


def _reject_constant(name: str) -> Any:
    raise _NotLossless(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _NotLossless("duplicate object key")
    return result


_STRICT_DECODER = json.JSONDecoder(
    parse_int=_parse_int,
    parse_float=_parse_float,
    parse_constant=_reject_constant,
    object_pairs_hook=_unique_keys,
)


_REGISTRY_FORMATS = frozenset(REGISTRY_FORMATS)
_NOTHING = object()


@dataclass(frozen=True)
class Problem:
    """Why a key or value does not match its declared format."""

    field: str
    error: str
    byte: int | None

    def reason(self) -> str:
        return f"{self.field}: {self.error.split(':')[0]}"


class Encoded(NamedTuple):
    """One encoded record (a tuple: built once per record, on the hot path)."""

    line: bytes
    problems: tuple[Problem, ...]
    event_time: int
    """Milliseconds since the epoch that place the record in a time folder."""
    time_from_field: bool | None
    """With a time field configured: whether the record had it (None without one)."""
    value_json: bytes | None = None
    """The JSON text the line embeds for the value, or None where the value is not stored as
    JSON (what a Parquet object's `value_json` column holds)."""
    document: Any = None
    """The value as parsed JSON (None where it is not JSON): typed Parquet columns read it."""
    registered: Decoded | None = None
    """The value decoded through the Schema Registry (None where it is not)."""


def _raw(data: bytes) -> tuple[Any, str]:
    try:
        return data.decode("utf-8"), ENCODING_UTF8
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), ENCODING_BASE64


def classify(data: bytes, allow_json: bool = True) -> tuple[Any, str]:
    """Return the JSON-ready form of `data` and its encoding marker (the `auto` format)."""
    encoded, encoding, _, _ = _encode_field(data, "auto" if allow_json else "text", "value")
    return (orjson.Fragment(encoded) if encoding == ENCODING_JSON else encoded), encoding


# orjson reads big integers as floats and keeps the last of duplicate keys without a word, so
# its answer is taken only where neither can have happened: no run of digits and dots long
# enough to hold more than 64 bits or a double's 17 digits, and no key lost in parsing. Both are
# checked with C-speed byte operations (a translation table, substring counts), not a regex or
# a Python walk of the document. Anything else takes the strict parser: slower, same answer.
_NESTED_OR_FLOAT = frozenset({dict, list, float})
# A JSON text starts with one of these (after optional whitespace); anything else is not JSON,
# which spares the common non-JSON key (`host-17`) a failed parse and its exception.
_JSON_START = frozenset(b'{["-0123456789tfn \t\r\n')
_NUMERIC = bytes(0x31 if byte in b"0123456789." else 0x30 for byte in range(256))
_LONG_RUN = b"1" * 18
_WHITESPACE = b" \t\r\n"


def _long_number(data: bytes) -> bool:
    return _LONG_RUN in data.translate(_NUMERIC)


def _key_colons(data: bytes) -> int:
    """`":` in the text once whitespace is gone: every key once (however it was spaced), plus
    any `":` inside strings, which can only add to the count."""
    return data.translate(None, _WHITESPACE).count(b'":')


def _embeddable(data: bytes, parsed: Any) -> bytes | None:
    """The JSON bytes to embed for what orjson parsed, or None for the strict parser to decide."""
    one_line = b"\n" not in data and b"\r" not in data
    if type(parsed) is dict and not _NESTED_OR_FLOAT.intersection(map(type, parsed.values())):
        # A flat object without fractions (the common log line): no number lost digits,
        # since orjson reads every integer that fits 64 bits exactly, and as many key-colons
        # as keys parsed means none was dropped.
        if _key_colons(data) != len(parsed):
            return None
        return data if one_line else orjson.dumps(parsed)
    if _long_number(data):
        return None
    try:
        compact = orjson.dumps(parsed)
    except orjson.JSONEncodeError:
        return None  # nested deeper than orjson writes
    # Written again, a document keeps every key but a duplicate's, and every `":` inside its
    # strings (a quote inside a string is always `\"`, unless spelled `\u0022`, which goes to
    # the strict parser): fewer `":` after means a key was dropped.
    escaped_quote = b"\\" in data and b"\\u" in data
    if type(parsed) in (dict, list) and (
        escaped_quote or compact.count(b'":') != _key_colons(data)
    ):
        return None
    return data if one_line else compact


def _encode_field(data: bytes, fmt: str, name: str) -> tuple[Any, str, Problem | None, Any]:
    """(JSON-ready form, encoding, problem or None, parsed JSON value or _NOTHING); for the
    `json` encoding the form is the JSON text to embed, as bytes."""
    if fmt == "bytes":
        return base64.b64encode(data).decode("ascii"), ENCODING_BASE64, None, _NOTHING
    if fmt == "auto" and (not data or data[0] not in _JSON_START):
        encoded, encoding = _raw(data)
        return encoded, encoding, None, _NOTHING
    if fmt != "text":
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            # Whatever orjson refuses, the strict parser would not embed either (not JSON,
            # NaN, a lone surrogate, a BOM, overflowing or too deep); only `json` needs to know
            # which, to tell an invalid record from a valid one kept as a string.
            if fmt == "auto":
                encoded, encoding = _raw(data)
                return encoded, encoding, None, _NOTHING
        else:
            embedded = _embeddable(data, parsed)
            if embedded is not None:
                return embedded, ENCODING_JSON, None, parsed
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        encoded = base64.b64encode(data).decode("ascii")
        if fmt == "auto":
            return encoded, ENCODING_BASE64, None, _NOTHING
        problem = Problem(name, f"not UTF-8: {exc.reason}", exc.start)
        return encoded, ENCODING_BASE64, problem, _NOTHING
    if fmt == "text" or (not text and fmt == "auto"):
        return text, ENCODING_UTF8, None, _NOTHING
    try:
        parsed = _STRICT_DECODER.decode(text)
        # orjson refuses what it cannot write back exactly (lone surrogates, deep nesting),
        # so serializing here also decides; the result is spliced into the line as is.
        compact = orjson.dumps(parsed)
    except json.JSONDecodeError as exc:
        if fmt == "json":
            at = len(text[: exc.pos].encode("utf-8"))
            return text, ENCODING_UTF8, Problem(name, f"not JSON: {exc.msg}", at), _NOTHING
    except (ValueError, RecursionError, orjson.JSONEncodeError):
        pass  # valid JSON that would not come back the same: kept as a string
    else:
        return compact, ENCODING_JSON, None, parsed
    return text, ENCODING_UTF8, None, _NOTHING


class Encoder:
    """Encodes records under the configured key and value formats and event-time field."""

    def __init__(
        self,
        key_format: FieldFormat = "auto",
        value_format: FieldFormat = "auto",
        time_field: str | None = None,
        schemas: SchemaDecoder | None = None,
    ) -> None:
        self.key_format = key_format
        self.value_format = value_format
        self._time_field = JsonField(time_field) if time_field else None
        self._schemas = schemas

    def _field(self, data: bytes, fmt: str, name: str) -> tuple[Any, str, Problem | None, Any]:
        """`_encode_field`; for a registry format, (the Decoded, the line's extra entries)."""
        if fmt not in _REGISTRY_FORMATS:
            return _encode_field(data, fmt, name)
        assert self._schemas is not None, "registry formats need a SchemaDecoder"
        try:
            decoded = self._schemas.decode(data, fmt)
        except NotDecodable as exc:
            problem = Problem(name, exc.error, exc.byte)
            return base64.b64encode(data).decode("ascii"), ENCODING_BASE64, problem, {}
        extra = {f"{name}_schema_id": decoded.schema_id, f"{name}_raw": raw_field(data)}
        return orjson.Fragment(decoded.json), decoded.encoding, None, (decoded, extra)

    def encode(self, record: Record) -> Encoded:
        # The hot path of every run: one call per field, no list unless a field is invalid.
        problems: tuple[Problem, ...] = ()
        key: Any = None
        key_encoding: str | None = None
        key_extra: dict[str, Any] = {}
        if record.key is not None:
            key, key_encoding, problem, decoded = self._field(record.key, self.key_format, "key")
            if problem:
                problems = (problem,)
            elif key_encoding in REGISTRY_ENCODINGS:
                key_extra = decoded[1]
        value: Any = None
        value_encoding: str | None = None
        parsed: Any = _NOTHING
        registered: Decoded | None = None
        value_extra: dict[str, Any] = {}
        if record.value is not None:
            value, value_encoding, problem, parsed = self._field(
                record.value, self.value_format, "value"
            )
            if problem:
                problems = (*problems, problem)
            elif value_encoding in REGISTRY_ENCODINGS:
                registered, value_extra = parsed
                parsed = _NOTHING
        headers = [
            [name, None, None] if header_value is None else [name, *_raw(header_value)]
            for name, header_value in record.headers
        ]
        value_json = None
        if value_encoding == ENCODING_JSON:
            value_json, value = value, orjson.Fragment(value)
        if key_encoding == ENCODING_JSON:
            key = orjson.Fragment(key)
        line: dict[str, Any] = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "timestamp": record.timestamp,
            "timestamp_type": record.timestamp_type,
            "key": key,
            "key_encoding": key_encoding,
            **key_extra,
            "value": value,
            "value_encoding": value_encoding,
            **value_extra,
            "headers": headers,
        }
        if problems:
            line["invalid"] = [
                {"field": p.field, "error": p.error, "byte": p.byte} for p in problems
            ]
        event_time, from_field = record.timestamp, None
        if self._time_field is not None:
            from_field = False
            if registered is not None:
                parsed = registered.document
            for candidate in self._time_field.candidates(parsed):
                found = parse_event_time(candidate)
                if found is not None:
                    event_time, from_field = found, True
                    break
        return Encoded(
            orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE),
            problems,
            event_time,
            from_field,
            value_json,
            None if value_json is None else parsed,
            registered,
        )


_DEFAULT_ENCODER = Encoder()


def encode_record(record: Record) -> bytes:
    """One newline-terminated JSON line for `record`, every field in the `auto` format."""
    return _DEFAULT_ENCODER.encode(record).line


def rebuild(encoded: Any, encoding: str | None) -> bytes | None:
    """The bytes a stored field stands for (for `json`, its compact JSON text)."""
    if encoding is None:
        if encoded is not None:
            raise ValueError("a field with a value must name its encoding")
        return None
    if encoding == ENCODING_UTF8:
        return str(encoded).encode("utf-8")
    if encoding == ENCODING_BASE64:
        return base64.b64decode(str(encoded), validate=True)
    if encoding == ENCODING_JSON:
        return orjson.dumps(encoded)
    raise ValueError(f"unknown encoding {encoding!r}; expected one of json, utf8, base64 or null")


def _rebuild_field(document: dict[str, Any], name: str) -> bytes | None:
    encoding = document[f"{name}_encoding"]
    if encoding in REGISTRY_ENCODINGS:
        return rebuild_raw(document, name)
    return rebuild(document[name], encoding)


def decode_line(line: bytes) -> Record:
    """The record a stored line stands for (the reader's half of the format)."""
    document = orjson.loads(line)
    return Record(
        topic=document["topic"],
        partition=document["partition"],
        offset=document["offset"],
        timestamp=document["timestamp"],
        timestamp_type=document["timestamp_type"],
        key=_rebuild_field(document, "key"),
        value=_rebuild_field(document, "value"),
        headers=tuple(
            (name, rebuild(value, encoding)) for name, value, encoding in document["headers"]
        ),
    )
