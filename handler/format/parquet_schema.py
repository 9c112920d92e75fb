"""The schema of Parquet objects: the same records as the JSON lines, in columns query engines
read directly.

Chosen by `KAFKA_BEAT_FORMAT=parquet`; `parquet.py` writes objects, `parquet_reader.py` reads
them back, `parquet_fields.py` converts the typed columns (`KAFKA_BEAT_PARQUET_FIELDS`).

Columns, in order (every object has the first nine, then one per typed field):

| column | Parquet type | holds |
|---|---|---|
| `topic` | string | the record's topic |
| `partition` | int32 | its partition |
| `offset` | int64 | its offset |
| `timestamp` | timestamp(ms, UTC) | the Kafka timestamp as is (-1: the producer set none) |
| `timestamp_type` | string | `create` or `log_append` |
| `key` | binary, null for a null key | the bytes exactly |
| `value` | binary | the bytes exactly, null where `value_json` holds them (or for a null value) |
| `headers` | list<struct<key: string, value: binary>> | in order, duplicates kept |
| `value_json` | string, null unless the value is JSON | the JSON text the JSON lines embed |

`value_json` is null exactly where the JSON lines store a value as `utf8`, `base64` or null, so
`json_extract_string(value_json, '$.user')` (DuckDB), `json_extract_scalar` (Athena) or
`get_json_object` (Spark) reads the same documents the JSON lines hold. A JSON value is not
stored twice: where `value_json` is the value's bytes exactly (one-line JSON, the common log
line) `value` is null, and the bytes are `coalesce(value, encode(value_json))` (DuckDB;
`to_utf8` in Athena). With both columns filled, value_json was 44 % of a log object. A null
value (a tombstone) has both null.
The footer's key-value metadata records the key and value formats and the typed fields, so
the reader gives back the very JSON lines a jsonl object of the same records holds.

A Schema Registry value format has its own layout (`registry_schema`): `value` holds the value
decoded, typed by its writer schema (handler/registry/*_columns.py), then `headers`,
`value_schema_id` and `value_raw` (the exact bytes); the footer embeds the schemas met.

pyarrow is imported on first use, never at import, so the base install needs no Parquet library
(`pip install 'kafka-beat[parquet]'` brings it).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Literal, get_args

from handler import __version__
from handler.config.parquet_fields import ParquetField, format_fields
from handler.config.registry_settings import REGISTRY_FORMATS
from handler.config.values import FieldFormat
from handler.errors import ConfigError
from handler.format import layout

ParquetCompression = Literal["zstd", "snappy", "gzip", "none"]
COMPRESSIONS: tuple[str, ...] = get_args(ParquetCompression)
EXTENSION = ".parquet"
CONTENT_TYPE = "application/vnd.apache.parquet"


def arrow() -> tuple[ModuleType, ModuleType]:
    """pyarrow and pyarrow.parquet, or a ConfigError saying how to install them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ConfigError(
            "Parquet objects need pyarrow, which the base install leaves out: "
            "pip install 'kafka-beat[parquet]'"
        ) from exc
    return pyarrow, pyarrow.parquet


def _field_type(pa: ModuleType, name: str) -> Any:
    if name == "string":
        return pa.string()
    if name == "int64":
        return pa.int64()
    if name == "float64":
        return pa.float64()
    if name == "bool":
        return pa.bool_()
    return pa.timestamp("ms", tz="UTC")


def _header_type(pa: ModuleType) -> Any:
    return pa.struct([pa.field("key", pa.string(), nullable=False), pa.field("value", pa.binary())])


def registered_value(value_format: str) -> bool:
    """Whether objects of this value format hold the decoded value in a typed `value` column
    (the layout of `registry_schema`)."""
    return value_format in REGISTRY_FORMATS


def registry_schema(value_type: Any, key_format: FieldFormat, value_format: FieldFormat) -> Any:
    """The Arrow schema of an object of a Schema Registry value format whose `value` column
    holds values of `value_type` (footer metadata included, but for the schemas it embeds)."""
    pa, _ = arrow()
    columns = [
        *_record_columns(pa),
        pa.field("value", value_type),
        _headers_column(pa),
        pa.field("value_schema_id", pa.int32()),
        pa.field("value_raw", pa.binary()),
    ]
    return pa.schema(columns, metadata=_metadata((), key_format, value_format))


def _record_columns(pa: ModuleType) -> list[Any]:
    return [
        pa.field("topic", pa.string(), nullable=False),
        pa.field("partition", pa.int32(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("timestamp", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("timestamp_type", pa.string(), nullable=False),
        pa.field("key", pa.binary()),
    ]


def _headers_column(pa: ModuleType) -> Any:
    return pa.field(
        "headers", pa.list_(pa.field("element", _header_type(pa), nullable=False)), nullable=False
    )


def _metadata(
    fields: tuple[ParquetField, ...], key_format: FieldFormat, value_format: FieldFormat
) -> dict[str, str]:
    return {
        layout.PARQUET_META_FORMAT: layout.PARQUET_FORMAT_VERSION,
        layout.PARQUET_META_KEY_FORMAT: key_format,
        layout.PARQUET_META_VALUE_FORMAT: value_format,
        layout.PARQUET_META_FIELDS: format_fields(fields),
        layout.PARQUET_META_WRITER: f"kafka-beat {__version__}",
    }


def schema(
    fields: tuple[ParquetField, ...] = (),
    key_format: FieldFormat = "auto",
    value_format: FieldFormat = "auto",
) -> Any:
    """The Arrow schema of an object with these typed fields (footer metadata included)."""
    pa, _ = arrow()
    columns = [
        *_record_columns(pa),
        pa.field("value", pa.binary()),
        _headers_column(pa),
        pa.field("value_json", pa.string()),
    ]
    columns += [pa.field(field.column, _field_type(pa, field.type)) for field in fields]
    return pa.schema(columns, metadata=_metadata(fields, key_format, value_format))


def leaf_paths(arrow_schema: Any) -> list[str]:
    """The dotted Parquet paths of a schema's leaf columns, as its writer names them."""
    pa, _ = arrow()
    found: list[str] = []

    def walk(arrow_type: Any, path: str) -> None:
        if pa.types.is_struct(arrow_type):
            for index in range(arrow_type.num_fields):
                child = arrow_type.field(index)
                walk(child.type, f"{path}.{child.name}")
        elif pa.types.is_map(arrow_type):
            walk(arrow_type.key_type, f"{path}.key_value.key")
            walk(arrow_type.item_type, f"{path}.key_value.value")
        elif pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
            walk(arrow_type.value_type, f"{path}.list.element")
        else:
            found.append(path)

    for field in arrow_schema:
        walk(field.type, field.name)
    return found
