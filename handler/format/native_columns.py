"""Arrow record batches from the native encoder's Parquet columns: `Batch.columns` hands over a
run of records as Arrow buffers in one call, and `record_batch` wraps them with
`pa.Array.from_buffers`, no Python per record, for `ParquetObjectWriter.add_columns`.

The values are those the Python rows append (`parquet_rows.py`), for the records the native
encoder did not defer; the tests hold the two equal column by column. pyarrow is imported on
first use, as for every Parquet module.
"""

from __future__ import annotations

from typing import Any

from handler.config.parquet_fields import BASE_COLUMNS, ParquetField
from handler.format.parquet_schema import arrow

_TIMESTAMP_TYPES = ("create", "log_append")
"""What the `timestamp_type` codes stand for, in code order."""


def native_fields(fields: tuple[ParquetField, ...]) -> list[tuple[str, str]]:
    """The typed fields as `encode_batch` and `Batch.columns` take them."""
    return [(field.field, field.type) for field in fields]


def unfit_counts(columns: Any, fields: tuple[ParquetField, ...]) -> dict[str, int]:
    """Per typed column, the run's values that did not fit its type."""
    return {field.column: count for field, count in zip(fields, columns.unfit, strict=True)}


def record_batch(columns: Any, topic: str, schema: Any) -> Any:
    """The run as a record batch of `schema` (`parquet_schema.schema` of the same fields);
    every record of a native batch is of its one partition, so of one topic."""
    pa, _ = arrow()
    count = columns.count
    types = schema.types

    def wrap(arrow_type: Any, length: int, buffers: tuple[bytes | None, ...]) -> Any:
        held = [None if buffer is None else pa.py_buffer(buffer) for buffer in buffers]
        return pa.Array.from_buffers(arrow_type, length, held)

    headers_type = types[BASE_COLUMNS.index("headers")]
    header = headers_type.value_type
    header_count = columns.header_count
    pairs = pa.Array.from_buffers(
        header,
        header_count,
        [None],
        children=[
            wrap(header.field(0).type, header_count, columns.header_keys),
            wrap(header.field(1).type, header_count, columns.header_values),
        ],
    )
    codes = wrap(pa.uint8(), count, (None, columns.timestamp_type))
    arrays = [
        pa.repeat(pa.scalar(topic, pa.string()), count),
        wrap(pa.int32(), count, (None, columns.partition)),
        wrap(pa.int64(), count, (None, columns.offset)),
        wrap(types[3], count, (None, columns.timestamp)),
        pa.array(_TIMESTAMP_TYPES, pa.string()).take(codes),
        wrap(pa.binary(), count, columns.key),
        wrap(pa.binary(), count, columns.value),
        pa.Array.from_buffers(
            headers_type, count, [None, pa.py_buffer(columns.header_offsets)], children=[pairs]
        ),
        wrap(pa.string(), count, columns.value_json),
        *(
            wrap(types[len(BASE_COLUMNS) + index], count, buffers)
            for index, buffers in enumerate(columns.typed)
        ),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
