"""Typed Parquet columns (`KAFKA_BEAT_PARQUET_FIELDS`, parsed in `config/parquet_fields.py`):
how one value of a JSON document becomes a column's value.

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

This module does not import the Parquet library.
"""

from __future__ import annotations

from typing import Any

from handler.format.event_time import parse_event_time

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
UNFIT: Any = object()
"""What `convert` returns for a value that does not fit the column's type."""


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
