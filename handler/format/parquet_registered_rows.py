"""Rows of a Parquet object of a Schema Registry value format (`registry_schema`): the value
decoded into its typed `value` column, its schema id, and its exact bytes in `value_raw`.

The column is typed by one schema (for Protobuf, one message type of it): the object's, which
the first decoded value pins (`pin`). A value decoded under another one, which only a repair
of an object claimed before can meet (rotation starts a new object at each new schema), keeps
its bytes and its id with a null `value`; so does a value that does not decode (an invalid
record kept) and a tombstone.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from handler.format.envelope import Encoded, Encoder
from handler.format.parquet_rows import RowBuffer
from handler.format.registered import Decoded, ValueColumn
from handler.record import Record

# Python memory of one buffered row beyond its payload bytes, as in parquet_rows.py; the typed
# value's Python objects weigh about twice its JSON text.
_ROW_OVERHEAD = 160
_ITEM_OVERHEAD = 80
_TYPED_PER_JSON_BYTE = 2


def value_shape(decoded: Decoded) -> tuple[int, str | None]:
    """What a typed column is made for: the schema id, and for Protobuf the message type."""
    return decoded.schema_id, decoded.message


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
        self._typed_values: list[Any] = []
        self._schema_ids: list[int | None] = []

    def pin(self, column: ValueColumn, shape: tuple[int, str | None] | None) -> None:
        """Type the `value` column by `column`, for values of `shape` (None: for none)."""
        self.column, self.shape = column, shape

    def add(self, record: Record, encoded: Encoded | None = None) -> None:
        if encoded is None:
            encoded = self._encoder.encode(record)
        self._append_numbers(record)
        decoded = encoded.registered
        typed = None
        buffered = _ROW_OVERHEAD + len(record.value or b"") + len(record.key or b"")
        if decoded is not None and self.column is not None and value_shape(decoded) == self.shape:
            try:
                typed = self.column.convert(decoded)
            except (ValueError, TypeError, ArithmeticError):
                self.unfit["value"] += 1  # kept in value_raw, as every value is
            buffered += _TYPED_PER_JSON_BYTE * len(decoded.json)
        for name, header_value in record.headers:
            buffered += _ITEM_OVERHEAD + len(name) + (len(header_value) if header_value else 0)
        self._topics.append(record.topic)
        self._timestamp_types.append(record.timestamp_type)
        self._keys.append(record.key)
        self._values.append(record.value)
        self._headers.append(record.headers)
        self._typed_values.append(typed)
        if decoded is None:
            self._schema_ids.append(None)
        else:
            self._schema_ids.append(decoded.schema_id)
            self.schema_ids.add(decoded.schema_id)
        self.rows += 1
        self.buffered += buffered

    def batch(self, pa: ModuleType, schema: Any) -> Any:
        if not self._topics:
            return None
        columns = schema.types
        arrays = [
            *self._record_arrays(pa, schema),
            self._typed_array(pa, columns[6]),
            pa.array(self._headers, columns[7]),
            pa.array(self._schema_ids, pa.int32()),
            pa.array(self._values, pa.binary()),
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
