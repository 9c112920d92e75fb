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
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import orjson

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


def classify(data: bytes, allow_json: bool = True) -> tuple[Any, str]:
    """Return the JSON-ready form of `data` and its encoding marker."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), ENCODING_BASE64
    if allow_json and text:
        try:
            # orjson refuses what it cannot write back exactly (lone surrogates, deep nesting),
            # so serializing here also decides; the result is spliced into the line as is.
            compact = orjson.dumps(_STRICT_DECODER.decode(text))
        except (ValueError, RecursionError, orjson.JSONEncodeError):
            pass
        else:
            return orjson.Fragment(compact), ENCODING_JSON
    return text, ENCODING_UTF8


def _field(data: bytes | None, allow_json: bool = True) -> tuple[Any, str | None]:
    if data is None:
        return None, None
    return classify(data, allow_json)


def encode_record(record: Record) -> bytes:
    """One newline-terminated JSON line for `record`."""
    key, key_encoding = _field(record.key)
    value, value_encoding = _field(record.value)
    headers = []
    for name, header_value in record.headers:
        encoded, encoding = _field(header_value, allow_json=False)
        headers.append([name, encoded, encoding])
    line = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "timestamp_type": record.timestamp_type,
        "key": key,
        "key_encoding": key_encoding,
        "value": value,
        "value_encoding": value_encoding,
        "headers": headers,
    }
    return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)


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


def decode_line(line: bytes) -> Record:
    """The record a stored line stands for (the reader's half of the format)."""
    document = orjson.loads(line)
    return Record(
        topic=document["topic"],
        partition=document["partition"],
        offset=document["offset"],
        timestamp=document["timestamp"],
        timestamp_type=document["timestamp_type"],
        key=rebuild(document["key"], document["key_encoding"]),
        value=rebuild(document["value"], document["value_encoding"]),
        headers=tuple(
            (name, rebuild(value, encoding)) for name, value, encoding in document["headers"]
        ),
    )
