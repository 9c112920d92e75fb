"""Parquet object bodies: records in, row groups spooled as they fill, one body out (the
columns are `parquet_schema.py`'s).

Memory stays bounded: rows are buffered as Python objects only until about `row_group_bytes`,
then written as one row group to a spool file (memory, then disk past `spool_memory_bytes`),
hashed as it is written, as the JSON-lines body is. pyarrow is imported on first use, never at
import, so the base install needs no Parquet library.
"""

from __future__ import annotations

import hashlib
import tempfile
from array import array
from typing import IO, Any

from handler.config.parquet_fields import BASE_COLUMNS, ParquetField
from handler.format.envelope import Encoded, Encoder, FieldFormat
from handler.format.json_fields import JsonField
from handler.format.parquet_fields import UNFIT, convert
from handler.format.parquet_schema import COMPRESSIONS, ParquetCompression, arrow, schema
from handler.format.sealed import SealedBody
from handler.record import Record

DEFAULT_ROW_GROUP_BYTES = 2 * 1024 * 1024
DEFAULT_SPOOL_MEMORY_BYTES = 2 * 1024 * 1024

# Python memory of one buffered row beyond its payload bytes (list slots, the bytes objects'
# headers, the offset and timestamp in typed arrays), and of one header or typed value.
_ROW_OVERHEAD = 160
_ITEM_OVERHEAD = 80
# Dictionaries pay where values repeat (topic, keys, header names); offsets and timestamps
# never do, nor values and their JSON (without dictionaries on offsets and timestamps a log
# object came out 6.5 % smaller). Statistics let engines skip row groups by offset and time;
# on the byte columns they would only grow the footer. Encodings stay the defaults every reader
# knows (DELTA_BINARY_PACKED would save more on offsets, but Spark before 3.3 cannot read it).
_NO_DICTIONARY = frozenset({"offset", "timestamp", "value", "value_json"})
_STATISTICS = ("topic", "partition", "offset", "timestamp", "timestamp_type")
_PAGE_BYTES = 64 * 1024


class _HashingSink:
    """The file pyarrow writes to: each chunk is hashed, counted and passed to the spool, which
    stays open when pyarrow closes its sink."""

    def __init__(self, spool: IO[bytes]) -> None:
        self.spool = spool
        self.digest = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.spool.write(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.spool.flush()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class ParquetObjectWriter:
    """One object's Parquet body: records in, row groups spooled as they fill, one body out."""

    def __init__(
        self,
        compression: ParquetCompression = "zstd",
        fields: tuple[ParquetField, ...] = (),
        row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
        spool_memory_bytes: int = DEFAULT_SPOOL_MEMORY_BYTES,
        level: int | None = None,
        key_format: FieldFormat = "auto",
        value_format: FieldFormat = "auto",
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(
                f"Parquet compression is one of {', '.join(COMPRESSIONS)}, not {compression!r}"
            )
        self._pa, pq = arrow()
        self._fields = fields
        self._field_names = [JsonField(field.field) for field in fields]
        self._row_group_bytes = row_group_bytes
        self._schema = schema(fields, key_format, value_format)
        self._encoder = Encoder(key_format, value_format)
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - owned by the sealed body
            max_size=spool_memory_bytes, prefix="kafka-beat-parquet-"
        )
        self._sink = _HashingSink(self._spool)
        self._writer = pq.ParquetWriter(
            self._sink,
            self._schema,
            compression=compression,
            compression_level=level if compression in ("zstd", "gzip") else None,
            use_dictionary=[
                path for path in self._schema_paths() if path.split(".", 1)[0] not in _NO_DICTIONARY
            ],
            write_statistics=[*_STATISTICS, *(field.column for field in fields)],
            # Pages of 64 KiB, not 1 MiB: each open object's column writers hold a page
            # buffer per column, which at 64 partitions outweighed the rows (3 % larger
            # objects on log lines, still below the .jsonl.zst).
            data_page_size=_PAGE_BYTES,
            dictionary_pagesize_limit=_PAGE_BYTES,
        )
        self.records = 0
        self.row_groups = 0
        self.unfit = {field.column: 0 for field in fields}
        self._sealed = False
        self._reset()

    def _schema_paths(self) -> list[str]:
        return [
            ".".join(path)
            for path in (
                *((name,) for name in BASE_COLUMNS if name != "headers"),
                ("headers", "list", "element", "key"),
                ("headers", "list", "element", "value"),
                *((field.column,) for field in self._fields),
            )
        ]

    def _reset(self) -> None:
        # New containers each time: the Arrow arrays of the last row group may still point into
        # the old typed arrays' memory.
        self._topics: list[str] = []
        self._partitions = array("i")
        self._offsets = array("q")
        self._timestamps = array("q")
        self._timestamp_types: list[str] = []
        self._keys: list[bytes | None] = []
        self._values: list[bytes | None] = []
        self._headers: list[tuple[tuple[str, bytes | None], ...]] = []
        self._value_json: list[bytes | None] = []
        self._typed: list[list[Any]] = [[] for _ in self._fields]
        self._buffered = 0

    @property
    def buffered_bytes(self) -> int:
        """Estimated memory of the rows not yet written as a row group (an upper bound in
        practice: measured at 0.7-0.9 of it for log lines)."""
        return self._buffered

    @property
    def size(self) -> int:
        """Bytes written to the body so far (row groups flushed; the footer comes at seal)."""
        return self._sink.size

    def add(self, record: Record, encoded: Encoded | None = None) -> None:
        """Append one record (`encoded`: its encoding under the object's formats, if already
        made); a row group is written once the buffered rows reach the limit."""
        if self._sealed:
            raise ValueError("the object is sealed")
        self._append_numbers(record)
        try:
            typed, unfit, value, value_json, buffered = self._row(record, encoded)
        except BaseException:
            for numbers in (self._partitions, self._offsets, self._timestamps):
                numbers.pop()
            raise
        self._topics.append(record.topic)
        self._timestamp_types.append(record.timestamp_type)
        self._keys.append(record.key)
        self._values.append(value)
        self._headers.append(record.headers)
        self._value_json.append(value_json)
        for column, converted in zip(self._typed, typed, strict=True):
            column.append(converted)
        for name in unfit:
            self.unfit[name] += 1
        self.records += 1
        self._buffered += buffered
        if self._buffered >= self._row_group_bytes:
            self._flush()

    def _row(
        self, record: Record, encoded: Encoded | None
    ) -> tuple[list[Any], list[str], bytes | None, bytes | None, int]:
        """The typed values, unfit columns, stored value and value_json of one record, and
        its estimated memory."""
        if encoded is None:
            encoded = self._encoder.encode(record)
        key, value = record.key, record.value
        value_json = encoded.value_json
        buffered = _ROW_OVERHEAD
        if value_json is not None:
            buffered += len(value_json)
            if value_json == value:
                value = None  # value_json holds these very bytes
            elif value is not None:
                # orjson's result keeps a 4 KiB allocation whatever its length: a row
                # group of them would be mostly slack, so keep an exact-size copy.
                value_json = bytes(memoryview(value_json))
        if value is not None:
            buffered += len(value)
        if key is not None:
            buffered += len(key)
        for name, header_value in record.headers:
            buffered += _ITEM_OVERHEAD + len(name) + (len(header_value) if header_value else 0)
        typed: list[Any] = []
        unfit: list[str] = []
        if self._fields:
            document = encoded.document
            for field, json_field in zip(self._fields, self._field_names, strict=True):
                found = json_field.find(document)
                converted = None if found is None else convert(field.type, found)
                if converted is UNFIT:
                    unfit.append(field.column)
                    converted = None
                typed.append(converted)
                buffered += _ITEM_OVERHEAD + (len(converted) if type(converted) is str else 0)
        return typed, unfit, value, value_json, buffered

    def _append_numbers(self, record: Record) -> None:
        """The typed arrays refuse what does not fit their width: then no column takes the
        record, so the buffered columns keep one length."""
        appended = []
        try:
            for numbers, number in (
                (self._partitions, record.partition),
                (self._offsets, record.offset),
                (self._timestamps, record.timestamp),
            ):
                numbers.append(number)
                appended.append(numbers)
        except OverflowError as exc:
            for numbers in appended:
                numbers.pop()
            raise ValueError(
                f"record {record.topic}/{record.partition}@{record.offset} has a partition, "
                f"offset or timestamp out of range: {exc}"
            ) from exc

    def _flush(self) -> None:
        rows = len(self._topics)
        if not rows:
            return
        pa = self._pa
        columns = self._schema.types
        arrays = [
            pa.array(self._topics, pa.string()),
            pa.Array.from_buffers(pa.int32(), rows, [None, pa.py_buffer(self._partitions)]),
            pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(self._offsets)]),
            pa.Array.from_buffers(columns[3], rows, [None, pa.py_buffer(self._timestamps)]),
            pa.array(self._timestamp_types, pa.string()),
            pa.array(self._keys, pa.binary()),
            pa.array(self._values, pa.binary()),
            pa.array(self._headers, columns[7]),
            pa.array(self._value_json, pa.string()),
            *(
                pa.array(values, columns[len(BASE_COLUMNS) + index])
                for index, values in enumerate(self._typed)
            ),
        ]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self._schema)
        self._writer.write_batch(batch, row_group_size=rows)
        self.row_groups += 1
        self._reset()

    def seal(self) -> SealedBody:
        """Write the last row group and the footer; the body, rewound, with its size and hash
        (without rows where a repair found its whole range compacted away)."""
        if self._sealed:
            raise ValueError("the object is sealed")
        self._flush()
        self._writer.close()
        self._sealed = True
        self._spool.seek(0)
        return SealedBody(
            self._spool, self._sink.size, self._sink.digest.hexdigest(), dict(self.unfit)
        )

    def discard(self) -> None:
        """Drop the object unsealed (its spool with it)."""
        try:
            if not self._sealed:
                self._sealed = True
                self._reset()
                self._writer.close()
        finally:
            self._spool.close()
