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

pyarrow is imported on first use, never at import, so the base install needs no Parquet library
(`pip install 'kafka-beat[parquet]'` brings it).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Literal, get_args

from handler import __version__
from handler.config.parquet_fields import ParquetField, format_fields
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


def schema(
    fields: tuple[ParquetField, ...] = (),
    key_format: FieldFormat = "auto",
    value_format: FieldFormat = "auto",
) -> Any:
    """The Arrow schema of an object with these typed fields (footer metadata included)."""
    pa, _ = arrow()
    columns = [
        pa.field("topic", pa.string(), nullable=False),
        pa.field("partition", pa.int32(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("timestamp", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("timestamp_type", pa.string(), nullable=False),
        pa.field("key", pa.binary()),
        pa.field("value", pa.binary()),
        pa.field(
            "headers",
            pa.list_(pa.field("element", _header_type(pa), nullable=False)),
            nullable=False,
        ),
        pa.field("value_json", pa.string()),
    ]
    columns += [pa.field(field.column, _field_type(pa, field.type)) for field in fields]
    metadata = {
        layout.PARQUET_META_FORMAT: layout.PARQUET_FORMAT_VERSION,
        layout.PARQUET_META_KEY_FORMAT: key_format,
        layout.PARQUET_META_VALUE_FORMAT: value_format,
        layout.PARQUET_META_FIELDS: format_fields(fields),
        layout.PARQUET_META_WRITER: f"kafka-beat {__version__}",
    }
    return pa.schema(columns, metadata=metadata)
