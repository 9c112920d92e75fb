"""Typed columns of Parquet objects: `KAFKA_BEAT_PARQUET_FIELDS` and the conversion of one value.

`user:string,bytes:int64,@timestamp:timestamp` promotes those fields of JSON values into typed
columns; `FIELD:TYPE:COLUMN` names the column (default: the field name as written). A field name
is first looked up whole (`@timestamp`, `event.created` as one key), then as a dotted path into
nested objects, as for `KAFKA_BEAT_TIME_FIELD`.

A value that does not fit its type leaves the column null and is counted; the record is never
dropped (its raw bytes stay in `value`). A missing field, a JSON null, and a value that is not
JSON at all are null without being counted: there was nothing to convert.

Conversions are strict, so a column never holds a value other than the one in the document:

- `string`: JSON strings only (a number is not turned into text);
- `int64`: JSON integers within 64 signed bits (not `1.0`, not `true`);
- `float64`: JSON numbers a double holds exactly (an integer beyond 2**53 that would round
  does not fit);
- `bool`: `true` or `false`;
- `timestamp`: what `KAFKA_BEAT_TIME_FIELD` accepts (ISO-8601, or epoch seconds, milliseconds,
  microseconds or nanoseconds told apart by magnitude), stored as UTC milliseconds.

This module does not import the Parquet library: the settings parse the spec with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from handler.format.envelope import parse_event_time

FieldType = Literal["string", "int64", "float64", "bool", "timestamp"]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)

BASE_COLUMNS = (
    "topic",
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key",
    "value",
    "headers",
    "value_json",
)
"""The lossless columns every Parquet object has, in order."""

# Folder names query engines read as columns (hive partitioning): a typed column of the same
# name would clash with them.
_PARTITION_COLUMNS = ("dt", "hour")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
UNFIT: Any = object()
"""What `convert` returns for a value that does not fit the column's type."""


@dataclass(frozen=True)
class ParquetField:
    """One typed column: the JSON field it is read from, its type and its column name."""

    field: str
    type: FieldType
    column: str

    def spec(self) -> str:
        short = f"{self.field}:{self.type}"
        return short if self.column == self.field else f"{short}:{self.column}"


def parse_fields(spec: str) -> tuple[ParquetField, ...]:
    """The typed columns of a `FIELD:TYPE[:COLUMN],…` spec; ValueError naming what is wrong."""
    fields: list[ParquetField] = []
    seen: dict[str, str] = {}
    reserved = {name.lower() for name in (*BASE_COLUMNS, *_PARTITION_COLUMNS)}
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        parts = [part.strip() for part in entry.split(":")]
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(
                f"'{entry}' is not a typed field; write FIELD:TYPE or FIELD:TYPE:COLUMN, "
                "comma-separated, e.g. user:string,bytes:int64,@timestamp:timestamp"
            )
        field, type_name = parts[0], parts[1]
        column = parts[2] if len(parts) == 3 else field
        if type_name not in FIELD_TYPES:
            raise ValueError(
                f"'{entry}': unknown type '{type_name}'; valid types are {', '.join(FIELD_TYPES)}"
            )
        if column.lower() in reserved:
            raise ValueError(
                f"'{entry}': column '{column}' is taken by a column every object has "
                f"({', '.join(BASE_COLUMNS)}) or a folder column (dt, hour); name another, "
                f"e.g. {field}:{type_name}:{_suggest(column)}"
            )
        if column.lower() in seen:
            raise ValueError(
                f"'{entry}': column '{column}' is already made by '{seen[column.lower()]}'; "
                "give one of them another name with FIELD:TYPE:COLUMN"
            )
        seen[column.lower()] = entry
        fields.append(ParquetField(field, cast(FieldType, type_name), column))
    return tuple(fields)


def _suggest(column: str) -> str:
    base = "".join(char if char.isalnum() else "_" for char in column).strip("_") or "field"
    return f"{base}_field" if base.lower() in BASE_COLUMNS else f"event_{base}"


def format_fields(fields: tuple[ParquetField, ...]) -> str:
    """The spec that `parse_fields` turns back into `fields`."""
    return ",".join(field.spec() for field in fields)


def lookup(document: Any, field: str) -> Any:
    """The value of `field` in a parsed JSON document (whole name, then dotted path), or None
    when it is missing."""
    if not isinstance(document, dict):
        return None
    if field in document:
        return document[field]
    if "." not in field:
        return None
    for part in field.split("."):
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document


def convert(field_type: str, value: Any) -> Any:
    """`value` (parsed JSON, not None) as a column of `field_type` holds it, or UNFIT."""
    kind = type(value)
    if field_type == "string":
        return value if kind is str else UNFIT
    if field_type == "int64":
        return value if kind is int and _INT64_MIN <= value <= _INT64_MAX else UNFIT
    if field_type == "float64":
        if kind is float:
            return value
        if kind is int:
            as_float = float(value)
            return as_float if int(as_float) == value else UNFIT
        return UNFIT
    if field_type == "bool":
        return value if kind is bool else UNFIT
    if field_type == "timestamp":
        if kind not in (str, int, float):
            return UNFIT
        try:
            moment = parse_event_time(value)
        except (ValueError, OverflowError):
            return UNFIT
        if moment is None or not _INT64_MIN <= moment <= _INT64_MAX:
            return UNFIT
        return moment
    raise ValueError(f"unknown field type {field_type!r}")
