"""The object settings: the stored format, compression and rotation of objects, and how
records are read into them (key and value formats, invalid records, the time field); with the
rules between them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from handler.config.parquet_fields import ParquetField, parse_fields
from handler.config.values import FieldFormat, installed, needs_module


class ObjectSettings(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    format: Literal["jsonl", "parquet"] = "jsonl"
    """Objects as JSON lines (one record per line) or as Parquet (columns query engines read
    directly; needs pip install 'kafka-beat[parquet]')."""

    compression: Literal["gzip", "zstd", "snappy", "none"] = "gzip"
    """Compression of each object (JSON lines: gzip, zstd or none; Parquet pages: any)."""

    compression_level: int | None = Field(default=None, ge=1, le=22)
    """Compression level (gzip 1-9, zstd 1-22); default: the codec's own (for JSON lines,
    gzip 6 and zstd 3)."""

    max_object_records: int = Field(default=500_000, gt=0)
    """Rotate an object after this many records."""

    max_object_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Rotate an object once its uncompressed JSON lines reach this many bytes."""

    spool_memory_bytes: int = Field(default=2 * 1024 * 1024, ge=0)
    """Compressed bytes an open object keeps in memory before spilling to a temporary file.
    Every partition has one open object: with many open, each keeps its share of 32 MiB if
    that is less, and never less than 256 KiB."""

    parquet_fields: str = ""
    """JSON fields of the values promoted into typed Parquet columns, e.g.
    user:string,bytes:int64,@timestamp:timestamp (types string, int64, float64, bool,
    timestamp; FIELD:TYPE:COLUMN names the column)."""

    key_format: FieldFormat = "auto"
    """How keys are read: auto (JSON, else UTF-8 text, else base64; never invalid), json
    (anything else is invalid), text (invalid UTF-8 is invalid), bytes (always base64), or in
    a Schema Registry's wire format: avro, jsonschema, protobuf, or registry (whichever the
    schema id names; see KAFKA_BEAT_SCHEMA_REGISTRY_URL)."""

    value_format: FieldFormat = "auto"
    """How values are read; the same choices as KAFKA_BEAT_KEY_FORMAT."""

    on_invalid: Literal["dead_letter", "keep", "fail"] = "dead_letter"
    """A record whose key or value does not match its format: dead_letter (stored under the
    dead-letter prefix with the reason), keep (stored in the normal stream, raw, with the
    reason), or fail (the partition stops before it; the run exits 1 naming it)."""

    time_field: str | None = None
    """Field of JSON values whose time (ISO-8601 or epoch) places a record in its time folder,
    e.g. @timestamp or event.created; records without it use the Kafka timestamp."""

    encoder: Annotated[
        Literal["auto", "native", "python"],
        AfterValidator(
            needs_module(
                "native",
                "kafka_beat_native",
                "native: the native encoder is not built in this install; run scripts/setup "
                "with Rust's cargo on PATH (or pip install ./native), or set "
                "KAFKA_BEAT_ENCODER=auto",
            )
        ),
    ] = "auto"
    """How records become lines: auto (the native batch encoder where this install has it
    built, else the pure-Python one; the run summary and check name the one used), native
    (refused where it is not built) or python (the reference encoder, byte for byte the same
    lines, several times the CPU)."""

    @model_validator(mode="after")
    def _format(self) -> ObjectSettings:
        if self.compression == "gzip" and (self.compression_level or 0) > 9:
            raise ValueError("KAFKA_BEAT_COMPRESSION_LEVEL for gzip is 1 to 9")
        if self.format == "jsonl":
            if self.compression == "snappy":
                raise ValueError(
                    "KAFKA_BEAT_COMPRESSION=snappy is for Parquet pages; JSON lines take gzip, "
                    "zstd or none (or set KAFKA_BEAT_FORMAT=parquet)"
                )
            if self.parquet_fields:
                raise ValueError("KAFKA_BEAT_PARQUET_FIELDS needs KAFKA_BEAT_FORMAT=parquet")
            return self
        if not installed("pyarrow"):
            raise ValueError(
                "KAFKA_BEAT_FORMAT=parquet: Parquet objects need pyarrow, which the base install "
                "leaves out: pip install 'kafka-beat[parquet]'"
            )
        try:
            parse_fields(self.parquet_fields)
        except ValueError as exc:
            raise ValueError(f"KAFKA_BEAT_PARQUET_FIELDS: {exc}") from exc
        return self

    def parquet_columns(self) -> tuple[ParquetField, ...]:
        """The typed columns KAFKA_BEAT_PARQUET_FIELDS names (validated at load)."""
        return parse_fields(self.parquet_fields)
