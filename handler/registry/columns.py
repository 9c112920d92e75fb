"""What the Avro and Protobuf column mappings (`avro_columns.py`, `protobuf_columns.py`) share:
the conversions from a value's JSON forms to what pyarrow builds a typed column from. Each
takes a value that is not null and may change a decoded document in place (it is the
record's own, parsed for this)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

Convert = Callable[[Any], Any]


def json_text(value: Any) -> str:
    """A value Parquet has no type for (a union of several types, a recursive record), as its
    JSON text."""
    return orjson.dumps(value).decode()


def from_base64(value: Any) -> Any:
    return base64.b64decode(value) if isinstance(value, str) else value


def timestamp(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def each(convert: Convert) -> Convert:
    return lambda values: [None if value is None else convert(value) for value in values]


def fields(converts: list[tuple[str, Convert]]) -> Convert:
    """A record's or message's conversion: its fields' that need one."""

    def convert(document: Any) -> Any:
        if type(document) is dict:
            for name, field_convert in converts:
                value = document.get(name)
                if value is not None:
                    document[name] = field_convert(value)
        return document

    return convert
