"""Rows of a Parquet object made one record at a time, in Python (the records the native
encoder defers, repairs, and every record without it): buffered as lists until the writer asks
for them as one Arrow record batch."""

from __future__ import annotations

from array import array
from types import ModuleType
from typing import Any

from handler.config.parquet_fields import BASE_COLUMNS, ParquetField
from handler.format.envelope import Encoded, Encoder
from handler.format.json_fields import JsonField
from handler.format.parquet_fields import UNFIT, convert
from handler.record import Record

# Python memory of one buffered row beyond its payload bytes (list slots, the bytes objects'
# headers, the offset and timestamp in typed arrays), and of one header or typed value.
_ROW_OVERHEAD = 160
_ITEM_OVERHEAD = 80


class RowBuffer:
    """Rows as the Parquet schema's columns, in Python lists."""

    def __init__(self, fields: tuple[ParquetField, ...], encoder: Encoder) -> None:
        self._fields = fields
        self._field_names = [JsonField(field.field) for field in fields]
        self._encoder = encoder
        self.unfit = {field.column: 0 for field in fields}
        self._reset()

    def _reset(self) -> None:
        # New containers each time: the Arrow arrays of the last batch may still point into
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
        self.rows = 0
        self.buffered = 0
        """Estimated memory of the rows (an upper bound in practice: measured at 0.7-0.9 of it
        for log lines)."""

    def add(self, record: Record, encoded: Encoded | None = None) -> None:
        """Append one record (`encoded`: its encoding under the object's formats, if already
        made)."""
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
        self.rows += 1
        self.buffered += buffered

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

    def batch(self, pa: ModuleType, schema: Any) -> Any:
        """The rows as one record batch of `schema` (None without rows); the buffer is empty
        after."""
        if not self._topics:
            return None
        columns = schema.types
        arrays = [
            *self._record_arrays(pa, schema),
            pa.array(self._values, pa.binary()),
            pa.array(self._headers, columns[7]),
            pa.array(self._value_json, pa.string()),
            *(
                pa.array(values, columns[len(BASE_COLUMNS) + index])
                for index, values in enumerate(self._typed)
            ),
        ]
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        self._reset()
        return batch

    def _record_arrays(self, pa: ModuleType, schema: Any) -> list[Any]:
        """The columns topic to key."""
        rows = len(self._topics)
        return [
            pa.array(self._topics, pa.string()),
            pa.Array.from_buffers(pa.int32(), rows, [None, pa.py_buffer(self._partitions)]),
            pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(self._offsets)]),
            pa.Array.from_buffers(schema.types[3], rows, [None, pa.py_buffer(self._timestamps)]),
            pa.array(self._timestamp_types, pa.string()),
            pa.array(self._keys, pa.binary()),
        ]
