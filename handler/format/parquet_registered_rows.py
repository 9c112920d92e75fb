"""Rows of a Parquet object of a Schema Registry value format (`registry_schema`): the value
decoded into its typed `value` column, its schema id, and its exact bytes in `value_raw`.

The column is typed by one schema (for Protobuf, one message type of it): the object's, which
the first decoded value pins (`pin`). A value decoded under another one, which only a repair
of an object claimed before can meet (rotation starts a new object at each new schema), keeps
its bytes and its id with a null `value`; so does a value that does not decode (an invalid
record kept) and a tombstone.
"""

from __future__ import annotations

from array import array
from types import ModuleType
from typing import Any

from handler.format.envelope import Encoded, Encoder
from handler.format.parquet_rows import RowBuffer
from handler.format.registered import ValueColumn
from handler.record import Record

# Python memory of one buffered row beyond its payload bytes, as in parquet_rows.py; the typed
# value's Python objects weigh about twice its JSON text.
_ROW_OVERHEAD = 160
_ITEM_OVERHEAD = 80
_TYPED_PER_JSON_BYTE = 2


class RegisteredRows(RowBuffer):
    def __init__(self, encoder: Encoder) -> None:
        super().__init__((), encoder)
        self.column: ValueColumn | None = None
        self.shape: tuple[int, str | None] | None = None
        self.schema_ids: set[int] = set()
        """Every value schema id of the object's rows."""
        self.unfit = {"value": 0}

    def _reset(self) -> None:
        super()._reset()
        # The records themselves, their columns drawn at `batch`: three appends a row, not
        # eleven (a Kafka client's partitions and offsets always fit their columns).
        self._records: list[Record] = []
        self._one_partition = True
        self._typed_values: list[Any] = []
        self._schema_ids: list[int | None] = []

    def pin(self, column: ValueColumn, shape: tuple[int, str | None] | None) -> None:
        """Type the `value` column by `column`, for values of `shape` (None: for none)."""
        self.column, self.shape = column, shape

    def add(self, record: Record, encoded: Encoded | None = None) -> None:
        if encoded is None:
            encoded = self._encoder.encode(record)
        decoded = encoded.registered
        value, key, headers = record.value, record.key, record.headers
        buffered = _ROW_OVERHEAD + (len(value) if value else 0) + (len(key) if key else 0)
        typed = schema_id = None
        if decoded is not None:
            schema_id = decoded.schema_id
            self.schema_ids.add(schema_id)
            if self.column is not None and decoded.shape == self.shape:
                try:
                    typed = self.column.convert(decoded)
                except (ValueError, TypeError, ArithmeticError):
                    self.unfit["value"] += 1  # kept in value_raw, as every value is
                buffered += _TYPED_PER_JSON_BYTE * len(decoded.json)
        for name, header_value in headers:
            buffered += _ITEM_OVERHEAD + len(name) + (len(header_value) if header_value else 0)
        records = self._records
        if records and (record.partition, record.topic) != (records[0].partition, records[0].topic):
            self._one_partition = False
        records.append(record)
        self._typed_values.append(typed)
        self._schema_ids.append(schema_id)
        self.rows += 1
        self.buffered += buffered

    def batch(self, pa: ModuleType, schema: Any) -> Any:
        records = self._records
        if not records:
            return None
        columns = schema.types
        count = len(records)
        first = records[0]
        timestamps = array("q", [record.timestamp for record in records])
        if self._one_partition:  # what a chain's object holds: its topic and partition repeat
            topics = pa.repeat(pa.scalar(first.topic, pa.string()), count)
            partitions = pa.repeat(pa.scalar(first.partition, pa.int32()), count)
        else:
            topics = pa.array([record.topic for record in records], pa.string())
            partitions = pa.array([record.partition for record in records], pa.int32())
        arrays = [
            topics,
            partitions,
            pa.array([record.offset for record in records], pa.int64()),
            pa.Array.from_buffers(columns[3], count, [None, pa.py_buffer(timestamps)]),
            pa.array([record.timestamp_type for record in records], pa.string()),
            pa.array([record.key for record in records], pa.binary()),
            self._typed_array(pa, columns[6]),
            pa.array([record.headers for record in records], columns[7]),
            pa.array(self._schema_ids, pa.int32()),
            pa.array([record.value for record in records], pa.binary()),
        ]
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        self._reset()
        return batch

    def _typed_array(self, pa: ModuleType, arrow_type: Any) -> Any:
        try:
            return pa.array(self._typed_values, arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
        # A value its own schema's column does not hold (a decimal beyond its precision): the
        # row keeps it in `value_raw` (and `decode` gives it back), with a null `value`.
        fitting: list[Any] = []
        for value in self._typed_values:
            try:
                pa.array([value], arrow_type)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                self.unfit["value"] += 1
                fitting.append(None)
            else:
                fitting.append(value)
        return pa.array(fitting, arrow_type)
