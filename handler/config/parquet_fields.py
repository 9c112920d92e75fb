"""KAFKA_BEAT_PARQUET_FIELDS: the typed columns of Parquet objects, as a setting.

`user:string,bytes:int64,@timestamp:timestamp` promotes those fields of JSON values into typed
columns; `FIELD:TYPE:COLUMN` names the column (default: the field name as written). A field name
is first looked up whole (`@timestamp`, `event.created` as one key), then as a dotted path into
nested objects, as for `KAFKA_BEAT_TIME_FIELD`. How a value becomes a column is
`format/parquet_fields.py`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args

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
"""The lossless columns every Parquet object has, in order (no typed column may take a name of
theirs)."""

# Folder names query engines read as columns (hive partitioning): a typed column of the same
# name would clash with them.
_PARTITION_COLUMNS = ("dt", "hour")


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
