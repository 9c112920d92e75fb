"""Parquet object bodies: records in, row groups spooled as they fill, one body out (the
columns are `parquet_schema.py`'s).

Records come as runs of Arrow columns the native encoder built in one call (`add_columns`), or
one by one as Python rows (`add`, `parquet_rows.py`: what it defers, repairs, and every record
without it), in order; both are buffered as Arrow record batches until about `row_group_bytes`,
then written as one row group to a spool file (memory, then disk past `spool_memory_bytes`),
hashed as it is written, as the JSON-lines body is. With a worker (the compression worker) the
row groups are encoded, compressed and written there, off the consuming thread: pyarrow
releases the GIL while it does, and one worker keeps the writes in order.

pyarrow is imported on first use, never at import, so the base install needs no Parquet library.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait
from typing import IO, Any

from handler.config.parquet_fields import ParquetField
from handler.config.values import FieldFormat
from handler.format.envelope import Encoded, Encoder
from handler.format.layout import PARQUET_META_SCHEMAS as META_SCHEMAS
from handler.format.layout import PARQUET_META_VALUE_SCHEMA_IDS as META_VALUE_SCHEMA_IDS
from handler.format.parquet_registered_rows import RegisteredRows
from handler.format.parquet_rows import RowBuffer
from handler.format.parquet_schema import (
    COMPRESSIONS,
    ParquetCompression,
    arrow,
    leaf_paths,
    registered_value,
    registry_schema,
    schema,
)
from handler.format.registered import Decoded, SchemaDecoder, ValueColumn
from handler.format.sealed import SealedBody
from handler.record import Record

DEFAULT_ROW_GROUP_BYTES = 2 * 1024 * 1024
DEFAULT_SPOOL_MEMORY_BYTES = 2 * 1024 * 1024

# Dictionaries pay where values repeat (topic, keys, header names); offsets and timestamps
# never do, nor values and their JSON (without dictionaries on offsets and timestamps a log
# object came out 6.5 % smaller). Statistics let engines skip row groups by offset and time;
# on the byte columns they would only grow the footer. Encodings stay the defaults every reader
# knows (DELTA_BINARY_PACKED would save more on offsets, but Spark before 3.3 cannot read it).
_NO_DICTIONARY = frozenset({"offset", "timestamp", "value", "value_json"})
# A typed value's fields repeat as a log's do (levels, hosts, users): its bytes do not.
_NO_DICTIONARY_REGISTERED = frozenset({"offset", "timestamp", "value_raw"})
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
        worker: Executor | None = None,
        schemas: SchemaDecoder | None = None,
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(
                f"Parquet compression is one of {', '.join(COMPRESSIONS)}, not {compression!r}"
            )
        self._pa, self._pq = arrow()
        self._fields = fields
        self._row_group_bytes = row_group_bytes
        self._compression = compression
        self._level = level if compression in ("zstd", "gzip") else None
        self._schemas = schemas
        encoder = Encoder(key_format, value_format, schemas=schemas)
        self._registered: RegisteredRows | None = None
        self._schema: Any = None
        self._rows: RowBuffer
        if registered_value(value_format):
            assert schemas is not None, "a Schema Registry value format needs its decoder"
            self._rows = self._registered = RegisteredRows(encoder)
            self._formats = key_format, value_format
            self._no_dictionary = _NO_DICTIONARY_REGISTERED
        else:
            self._rows = RowBuffer(fields, encoder)
            self._schema = schema(fields, key_format, value_format)
            self._no_dictionary = _NO_DICTIONARY
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - owned by the sealed body
            max_size=spool_memory_bytes, prefix="kafka-beat-parquet-"
        )
        self._sink = _HashingSink(self._spool)
        self._writer: Any = None
        """Made once the schema is known: for a registry value format, at the first decoded
        value or the first row group, whichever comes first."""
        self._worker = worker
        self._queued: deque[Future[None]] = deque()
        self._batches: list[Any] = []
        """Record batches not yet written, in order (the Python rows' among them)."""
        self._batched_bytes = 0
        self.records = 0
        self.row_groups = 0
        self._unfit = {field.column: 0 for field in fields}
        self._sealed = False

    def _settled_schema(self) -> Any:
        """The schema rows are written under from now on: for a registry value format with
        nothing decoded yet, a `value` column typed by none (all null)."""
        if self._schema is None:
            self._pin(None)
        return self._schema

    def _parquet_writer(self) -> Any:
        if self._writer is None:
            schema = self._settled_schema()
            self._writer = self._pq.ParquetWriter(
                self._sink,
                schema,
                compression=self._compression,
                compression_level=self._level,
                use_dictionary=[
                    path
                    for path in leaf_paths(schema)
                    if path.split(".", 1)[0] not in self._no_dictionary
                ],
                write_statistics=[*_STATISTICS, *(field.column for field in self._fields)],
                # Pages of 64 KiB, not 1 MiB: each open object's column writers hold a page
                # buffer per column, which at 64 partitions outweighed the rows (3 % larger
                # objects on log lines, still below the .jsonl.zst).
                data_page_size=_PAGE_BYTES,
                dictionary_pagesize_limit=_PAGE_BYTES,
            )
        return self._writer

    def _pin(self, decoded: Decoded | None) -> None:
        """Type the `value` column by the schema of `decoded` (None: by none, all null)."""
        rows = self._registered
        assert rows is not None and self._schemas is not None
        if decoded is None:
            column = ValueColumn(self._pa.null(), lambda _: None)
            rows.pin(column, None)
        else:
            column = self._schemas.value_column(decoded)
            rows.pin(column, decoded.shape)
        self._schema = registry_schema(column.arrow_type, *self._formats)

    def accepts(self, encoded: Encoded) -> bool:
        """Whether the record may join this object: not a value of another schema than the
        one its typed `value` column holds (rotation starts a new object for it)."""
        rows = self._registered
        decoded = encoded.registered
        if rows is None or decoded is None or self._schema is None:
            return True
        return decoded.shape == rows.shape

    @property
    def schema(self) -> Any:
        """The Arrow schema of the object's columns (footer metadata included); for a registry
        value format, None until the first decoded value or row group."""
        return self._schema

    @property
    def unfit(self) -> dict[str, int]:
        """Per typed column: values present in the JSON that did not fit its type."""
        if self._registered is not None:
            return {name: count for name, count in self._registered.unfit.items() if count}
        return {column: count + self._rows.unfit[column] for column, count in self._unfit.items()}

    @property
    def buffered_bytes(self) -> int:
        """Estimated memory of the records not yet written as a row group."""
        return self._batched_bytes + self._rows.buffered

    @property
    def size(self) -> int:
        """Bytes written to the body so far (row groups flushed; the footer comes at seal)."""
        self._settle()
        return self._sink.size

    def add(self, record: Record, encoded: Encoded | None = None) -> None:
        """Append one record as a Python row (`encoded`: its encoding under the object's
        formats, if already made)."""
        if self._sealed:
            raise ValueError("the object is sealed")
        if self._schema is None and encoded is not None and encoded.registered is not None:
            self._pin(encoded.registered)
        self._rows.add(record, encoded)
        self.records += 1
        if self.buffered_bytes >= self._row_group_bytes:
            self._flush()

    def add_columns(self, batch: Any, unfit: dict[str, int]) -> None:
        """Append a run of records as an Arrow record batch of this object's schema (the
        native encoder's columns), after the rows added before it."""
        if self._sealed:
            raise ValueError("the object is sealed")
        self._take_rows()
        self._batches.append(batch)
        self._batched_bytes += batch.nbytes
        self.records += batch.num_rows
        for column, count in unfit.items():
            self._unfit[column] += count
        if self.buffered_bytes >= self._row_group_bytes:
            self._flush()

    def _take_rows(self) -> None:
        if not self._rows.rows:
            return
        rows = self._rows.batch(self._pa, self._settled_schema())
        if rows is not None:
            self._batches.append(rows)
            self._batched_bytes += rows.nbytes

    def _flush(self) -> None:
        self._take_rows()
        if not self._batches:
            return
        table = self._pa.Table.from_batches(self._batches, schema=self._schema)
        self._batches, self._batched_bytes = [], 0
        self.row_groups += 1
        writer = self._parquet_writer()
        self._run(lambda: writer.write_table(table, row_group_size=table.num_rows))

    def _run(self, write: Callable[[], None]) -> None:
        """`write` on the worker, after every write handed to it before; inline without one."""
        if self._worker is None:
            write()
            return
        self._queued.append(self._worker.submit(write))
        self._settle(wait_for_all=False)

    def _settle(self, wait_for_all: bool = True) -> None:
        """Raise what a finished write raised; with `wait_for_all`, wait for every write."""
        while self._queued and (wait_for_all or self._queued[0].done()):
            self._queued.popleft().result()

    def seal(self) -> SealedBody:
        """Write the last row group and the footer; the body, rewound, with its size and hash
        (without rows where a repair found its whole range compacted away)."""
        if self._sealed:
            raise ValueError("the object is sealed")
        self._flush()
        writer = self._parquet_writer()
        if self._registered is not None:
            assert self._schemas is not None
            ids = ",".join(str(found) for found in sorted(self._registered.schema_ids))
            embedded = {META_VALUE_SCHEMA_IDS: ids, META_SCHEMAS: self._schemas.embedded()}
            self._run(lambda: writer.add_key_value_metadata(embedded))
        self._run(writer.close)
        self._settle()
        self._sealed = True
        self._spool.seek(0)
        return SealedBody(
            self._spool, self._sink.size, self._sink.digest.hexdigest(), dict(self.unfit)
        )

    def discard(self) -> None:
        """Drop the object unsealed (its spool with it)."""
        try:
            for queued in self._queued:
                queued.cancel()
            wait(self._queued)  # a write the worker has begun must finish before the close
            self._queued.clear()
            if not self._sealed:
                self._sealed = True
                self._batches = []
                if self._writer is not None:
                    self._writer.close()
        finally:
            self._spool.close()
