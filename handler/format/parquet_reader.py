"""Reading Parquet objects back: their records, or the JSON lines a jsonl object would hold.

`decode` prints, for a Parquet object, the lines a jsonl object of the same records holds: the
footer records the key and value formats it was written with, and the envelope's `Encoder`
turns each record (its bytes exactly as consumed) into the same line.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, cast, get_args

from handler.config.parquet_fields import BASE_COLUMNS, ParquetField, parse_fields
from handler.config.registry_settings import REGISTRY_FORMATS
from handler.config.values import FieldFormat
from handler.format import layout
from handler.format.envelope import Encoder
from handler.format.parquet_schema import arrow, registered_value
from handler.format.registered import EmbeddedDecoders
from handler.record import Record

_READ_BATCH_ROWS = 4096
# A Schema Registry value format's objects: the value's bytes are in `value_raw`.
_REGISTERED_COLUMNS = (*BASE_COLUMNS[:6], "headers", "value_raw")


@dataclass(frozen=True)
class ParquetInfo:
    """What an object's footer says of how it was written."""

    format_version: str
    key_format: FieldFormat
    value_format: FieldFormat
    fields: tuple[ParquetField, ...]
    records: int
    row_groups: int
    schemas: str = ""
    """For a Schema Registry value format, the schemas the object embeds (JSON)."""
    value_schema_ids: tuple[int, ...] = ()
    """For a Schema Registry value format, the schema ids of its values."""


class ParquetReader:
    """Reads a Parquet object back: its records, or the JSON lines a jsonl object would hold.

    The body may be any binary file; one that cannot seek (an S3 stream) is first copied to a
    spool file, since a Parquet footer is read before its rows."""

    def __init__(self, body: IO[bytes], spool_memory_bytes: int = 8 * 1024 * 1024) -> None:
        self._pa, pq = arrow()
        self._compute = importlib.import_module("pyarrow.compute")
        self._spool: IO[bytes] | None = None
        if not _seekable(body):
            self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by close()
                max_size=spool_memory_bytes, prefix="kafka-beat-parquet-"
            )
            shutil.copyfileobj(body, self._spool, 1024 * 1024)
            self._spool.seek(0)
            body = self._spool
        try:
            self._file = pq.ParquetFile(body)
            self.info = self._read_info()
        except BaseException:
            if self._spool is not None:
                self._spool.close()
            raise

    def _read_info(self) -> ParquetInfo:
        raw = self._file.metadata.metadata or {}
        meta = {key.decode(): value.decode() for key, value in raw.items()}
        version = meta.get(layout.PARQUET_META_FORMAT)
        if version is None:
            raise ValueError(
                f"not a Kafka Beat Parquet object (no {layout.PARQUET_META_FORMAT} metadata)"
            )
        if version != layout.PARQUET_FORMAT_VERSION:
            raise ValueError(
                f"Kafka Beat Parquet format {version} is not one this reader knows (format "
                f"{layout.PARQUET_FORMAT_VERSION}); read it with the kafka-beat that wrote it "
                "or newer"
            )
        return ParquetInfo(
            format_version=version,
            key_format=_format(meta.get(layout.PARQUET_META_KEY_FORMAT, "auto")),
            value_format=_format(meta.get(layout.PARQUET_META_VALUE_FORMAT, "auto")),
            fields=parse_fields(meta.get(layout.PARQUET_META_FIELDS, "")),
            records=self._file.metadata.num_rows,
            row_groups=self._file.metadata.num_row_groups,
            schemas=meta.get(layout.PARQUET_META_SCHEMAS, ""),
            value_schema_ids=tuple(
                int(found)
                for found in meta.get(layout.PARQUET_META_VALUE_SCHEMA_IDS, "").split(",")
                if found
            ),
        )

    def records(self) -> Iterator[Record]:
        """Every record, in stored order, with its bytes exactly as consumed."""
        pa = self._pa
        registered = registered_value(self.info.value_format)
        columns = _REGISTERED_COLUMNS if registered else BASE_COLUMNS
        for batch in self._file.iter_batches(batch_size=_READ_BATCH_ROWS, columns=columns):
            index = batch.schema.get_field_index
            column = batch.column
            timestamps = column(index("timestamp")).cast(pa.int64()).to_pylist()
            if registered:
                values = column(index("value_raw"))
            else:
                # `value` is null where value_json holds the value's bytes exactly.
                values = self._compute.coalesce(
                    column(index("value")), column(index("value_json")).cast(pa.binary())
                )
            headers = column(index("headers")).to_pylist()
            yield from map(
                Record,
                column(index("topic")).to_pylist(),
                column(index("partition")).to_pylist(),
                column(index("offset")).to_pylist(),
                timestamps,
                column(index("timestamp_type")).to_pylist(),
                column(index("key")).to_pylist(),
                values.to_pylist(),
                (tuple((item["key"], item["value"]) for item in row) for row in headers),
            )

    def lines(self, embedded: EmbeddedDecoders | None = None) -> Iterator[bytes]:
        """The JSON lines of the same records under the formats they were written with; for
        a Schema Registry format, decoded with the schemas the object embeds (`embedded`
        makes their decoder)."""
        info = self.info
        schemas = None
        if info.key_format in REGISTRY_FORMATS or info.value_format in REGISTRY_FORMATS:
            if embedded is None:
                raise ValueError(
                    "the object's keys or values are in a Schema Registry format: its lines "
                    "are read with its embedded schemas, which needs the registry extra"
                )
            schemas = embedded(info.schemas)
        encoder = Encoder(info.key_format, info.value_format, schemas=schemas)
        for record in self.records():
            yield encoder.encode(record).line

    def close(self) -> None:
        self._file.close()
        if self._spool is not None:
            self._spool.close()

    def __enter__(self) -> ParquetReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_records(body: IO[bytes]) -> Iterator[Record]:
    """The records of one Parquet object."""
    with ParquetReader(body) as reader:
        yield from reader.records()


def decode_lines(body: IO[bytes], embedded: EmbeddedDecoders | None = None) -> Iterator[bytes]:
    """The JSON lines a jsonl object of the same records holds (what `decode` prints)."""
    with ParquetReader(body) as reader:
        yield from reader.lines(embedded)


def _seekable(body: IO[bytes]) -> bool:
    try:
        return bool(body.seekable())
    except (AttributeError, ValueError):
        return False


def _format(name: str) -> FieldFormat:
    if name not in get_args(FieldFormat):
        raise ValueError(f"unknown key or value format {name!r} in the object's metadata")
    return cast(FieldFormat, name)
