"""The Parquet column of an Avro writer schema: its pyarrow type, and how the datum fastavro
read (`avro.py`) becomes what pyarrow builds it from: mostly as it is (fastavro gives dates,
times, timestamps and decimals as Python's own), which spares the JSON forms a parse.

Records are structs, arrays lists, maps `map<string, ...>`, enums strings; a union of `null`
and one type is that type, nullable; a union of two or more other types is its value's JSON
text (Parquet has no union). Logical types keep their meaning: `timestamp-*` timestamps in UTC,
`local-timestamp-*` timestamps without a zone, `date` a date, `time-*` a time of day,
`decimal` a decimal of its precision and scale, `uuid` its text. `bytes` and `fixed` are
binary. A record that contains itself is its JSON text where it recurs; a record without
fields, whose struct Parquet cannot store, too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handler.registry import columns
from handler.registry.avro import json_forms
from handler.registry.columns import Convert

_MAX_DECIMAL128_DIGITS = 38


class _Mapper:
    """One schema's walk: named types are defined where they first appear, in Avro's
    namespaces."""

    def __init__(self, pa: Any) -> None:
        self.pa = pa
        self._named: dict[str, Any] = {}
        self._expanding: set[str] = set()

    def column(self, schema: Any, namespace: str = "") -> tuple[Any, Convert | None]:
        pa = self.pa
        if isinstance(schema, list):
            return self._union(schema, namespace)
        if isinstance(schema, str):
            primitive = _PRIMITIVES.get(schema)
            if primitive is not None:
                return primitive(pa), None
            return self._reference(schema, namespace)
        kind = schema.get("type")
        if isinstance(kind, list | dict):
            return self.column(kind, namespace)
        if kind in ("record", "error", "enum", "fixed"):
            return self._named_type(schema, namespace)
        logical = _logical(pa, schema)
        if logical is not None:
            return logical
        if kind == "array":
            item, convert = self.column(schema["items"], namespace)
            return pa.list_(item), None if convert is None else columns.each(convert)
        if kind == "map":
            item, convert = self.column(schema["values"], namespace)
            return pa.map_(pa.string(), item), None if convert is None else _each_value(convert)
        return self.column(kind, namespace)

    def _union(self, branches: list[Any], namespace: str) -> tuple[Any, Convert | None]:
        others = [branch for branch in branches if branch != "null"]
        if not others:
            return self.pa.null(), None
        if len(others) == 1:
            return self.column(others[0], namespace)
        for branch in others:  # named types defined inside a union are still defined
            self.column(branch, namespace)
        return self.pa.string(), _json_text

    def _reference(self, name: str, namespace: str) -> tuple[Any, Convert | None]:
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        found = self._named.get(full, self._named.get(name))
        if found is None:
            raise ValueError(f"the schema names the type {name!r} before defining it")
        if found.get("type") in ("record", "error") and (full in self._expanding):
            return self.pa.string(), _json_text  # a record within itself
        return self._named_type(found, namespace, defined=True)

    def _named_type(
        self, schema: dict[str, Any], namespace: str, defined: bool = False
    ) -> tuple[Any, Convert | None]:
        pa = self.pa
        name = str(schema["name"])
        space = schema.get("namespace", namespace) if "." not in name else name.rpartition(".")[0]
        full = name if "." in name or not space else f"{space}.{name}"
        if not defined:
            self._named[full] = schema
        kind = schema["type"]
        if kind == "enum":
            return pa.string(), None
        if kind == "fixed":
            logical = _logical(pa, schema)
            return logical or (pa.binary(int(schema["size"])), None)
        self._expanding.add(full)
        try:
            fields, converts = [], []
            for field in schema.get("fields", []):
                arrow_type, convert = self.column(field["type"], space)
                fields.append(pa.field(str(field["name"]), arrow_type))
                if convert is not None:
                    converts.append((str(field["name"]), convert))
        finally:
            self._expanding.discard(full)
        if not fields:
            return pa.string(), _json_text
        return pa.struct(fields), columns.fields(converts) if converts else None


def _each_value(convert: Convert) -> Convert:
    return lambda values: {
        key: None if value is None else convert(value) for key, value in values.items()
    }


_PRIMITIVES: dict[str, Callable[[Any], Any]] = {
    "null": lambda pa: pa.null(),
    "boolean": lambda pa: pa.bool_(),
    "int": lambda pa: pa.int32(),
    "long": lambda pa: pa.int64(),
    "float": lambda pa: pa.float32(),
    "double": lambda pa: pa.float64(),
    "bytes": lambda pa: pa.binary(),
    "string": lambda pa: pa.string(),
}


def _logical(pa: Any, schema: dict[str, Any]) -> tuple[Any, Convert | None] | None:
    """The column of a logical type fastavro reads (None for none: the underlying type)."""
    logical, kind = schema.get("logicalType"), schema.get("type")
    if logical == "decimal" and kind in ("bytes", "fixed"):
        precision, scale = int(schema.get("precision", 0)), int(schema.get("scale", 0))
        if precision < 1 or not 0 <= scale <= precision:
            return None
        make = pa.decimal128 if precision <= _MAX_DECIMAL128_DIGITS else pa.decimal256
        return make(precision, scale), None
    if kind == "string" and logical == "uuid":
        return pa.string(), str  # fastavro gives a UUID
    if kind == "int":
        if logical == "date":
            return pa.date32(), None
        if logical == "time-millis":
            return pa.time32("ms"), None
    if kind == "long":
        units = {"timestamp-millis": "ms", "timestamp-micros": "us", "timestamp-nanos": "ns"}
        local = {"local-timestamp-millis": "ms", "local-timestamp-micros": "us"}
        if logical in units:
            return pa.timestamp(units[logical], tz="UTC"), None
        if logical in local:
            return pa.timestamp(local[logical]), None
        if logical == "time-micros":
            return pa.time64("us"), None
    return None


def _json_text(value: Any) -> str:
    """A value Parquet has no type for, as the JSON text the line holds of it."""
    return json_forms(value).decode()


def avro_column(pa: Any, schema: Any) -> tuple[Any, Convert | None]:
    """The pyarrow type of an Avro schema (its JSON), and the conversion of fastavro's datum."""
    return _Mapper(pa).column(schema)
