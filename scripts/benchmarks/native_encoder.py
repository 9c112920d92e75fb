"""The native batch encoder (native/, `kafka_beat_native`) beside the Python encoder it must
equal: µs per record on the benchmark's log lines and 4 KB documents, batches of a poll's size,
and the share of records it defers to the Python encoder. The best of several repetitions
(the machine may be shared); the native figure includes reading the records and, when the
batch has deferred records, the Python encoder on those.

Then Parquet rows, with typed fields: the Python rows (`RowBuffer.add` per record, what
`ParquetObjectWriter.add` does, and its record batch) beside the native columns
(`encode_batch` + `Batch.columns` + `native_columns.record_batch` per poll batch), and the
whole object either way (add or add_columns, then seal: row groups encoded, zstd, written).

    .venv/bin/python -m scripts.benchmarks.native_encoder [--records 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from handler.config.parquet_fields import ParquetField, parse_fields
from handler.format.envelope import Encoder
from handler.format.native_columns import native_fields, record_batch, unfit_counts
from handler.format.parquet import ParquetObjectWriter
from handler.format.parquet_rows import RowBuffer
from handler.format.parquet_schema import arrow, schema
from handler.record import Record

from .payloads import document, log_line

_BATCH = 500  # records per poll batch, about what kafka-python hands over


def _with_floats(rng: random.Random, index: int) -> str:
    """A 4 KB document with measured floats at full precision (`0.30000000000000004`)."""
    text = document(rng, index)
    return text[:-1] + f',"latencySeconds":{rng.random()},"ratio":{rng.random() * 100}}}'


_PAYLOADS: dict[str, tuple[Callable[[random.Random, int], str], str | None]] = {
    "log lines": (log_line, None),
    "log lines, @timestamp": (log_line, "@timestamp"),
    "4 KB documents": (document, None),
    "4 KB documents, eventTime": (document, "eventTime"),
    "4 KB documents with floats": (_with_floats, "eventTime"),
}


_PARQUET: dict[str, tuple[Callable[[random.Random, int], str], str]] = {
    "log lines": (log_line, "user:string,latency_ms:int64,level:string,@timestamp:timestamp"),
    "4 KB documents": (
        document,
        "eventTime:timestamp,userIdentity.accountId:string,readOnly:bool,"
        "additionalEventData.bytesTransferredOut:int64,eventName:string",
    ),
}


def _records(make: Callable[[random.Random, int], str], count: int) -> list[Record]:
    rng = random.Random(20261125)
    return [
        Record(
            "bench",
            0,
            offset,
            1_764_054_000_000 + offset,
            "create",
            b"host-%d" % (offset % 50),
            make(rng, offset).encode(),
            (("source", b"fw-01"),),
        )
        for offset in range(count)
    ]


def _python(batches: list[list[Record]], encoder: Encoder) -> int:
    encode = encoder.encode
    for batch in batches:
        for record in batch:
            encode(record)
    return 0


def _native(
    native: Any, batches: list[list[Record]], encoder: Encoder, time_field: str | None
) -> int:
    """One call per batch, then the Python encoder on what it deferred (as a caller does)."""
    deferred = 0
    for batch in batches:
        encoded = native.encode_batch(batch, "record", "auto", "auto", time_field)
        for index in encoded.deferred:
            encoder.encode(batch[index])
        deferred += len(encoded.deferred)
    return deferred


def _python_rows(records: list[Record], fields: tuple[ParquetField, ...]) -> int:
    """Python rows, one `add` per record, then their record batch (what the writer buffers)."""
    pa, _ = arrow()
    rows = RowBuffer(fields, Encoder())
    for record in records:
        rows.add(record)
    rows.batch(pa, schema(fields))
    return 0


def _native_batches(
    native: Any, batches: list[list[Record]], fields: tuple[ParquetField, ...]
) -> list[tuple[Any, dict[str, int]]]:
    """Per poll batch, one encode_batch and one columns call, as a run of the whole batch."""
    spec, object_schema = native_fields(fields), schema(fields)
    made = []
    for batch in batches:
        encoded = native.encode_batch(batch, "record", "auto", "auto", None, spec)
        assert not encoded.deferred, "the benchmark's payloads are not deferred"
        columns = encoded.columns(0, len(batch), spec)
        made.append(
            (record_batch(columns, batch[0].topic, object_schema), unfit_counts(columns, fields))
        )
    return made


def _python_object(records: list[Record], fields: tuple[ParquetField, ...]) -> int:
    writer = ParquetObjectWriter(fields=fields)
    for record in records:
        writer.add(record)
    return writer.seal().size


def _native_object(
    native: Any, batches: list[list[Record]], fields: tuple[ParquetField, ...]
) -> int:
    writer = ParquetObjectWriter(fields=fields)
    for made, unfit in _native_batches(native, batches, fields):
        writer.add_columns(made, unfit)
    return writer.seal().size


def _parquet(native: Any, count: int, repeats: int) -> None:
    print(
        f"\n{'Parquet rows':<16} {'python rows':>12} {'native cols':>12} {'speed-up':>9} "
        f"{'python obj':>11} {'native obj':>11}  (µs per record)"
    )
    for name, (make, spec) in _PARQUET.items():
        records = _records(make, count)
        batches = [records[at : at + _BATCH] for at in range(0, len(records), _BATCH)]
        fields = parse_fields(spec)
        rows_us, _ = _best_us(partial(_python_rows, records, fields), count, repeats)
        native_us, _ = _best_us(partial(_native_batches, native, batches, fields), count, repeats)
        python_object_us, python_size = _best_us(
            partial(_python_object, records, fields), count, repeats
        )
        native_object_us, native_size = _best_us(
            partial(_native_object, native, batches, fields), count, repeats
        )
        assert native_size > 0 and python_size > 0
        print(
            f"{name:<16} {rows_us:>12.2f} {native_us:>12.2f} {rows_us / native_us:>8.1f}x "
            f"{python_object_us:>11.2f} {native_object_us:>11.2f}"
        )


def _best_us(run: Callable[[], int], records: int, repeats: int) -> tuple[float, int]:
    """The best µs per record of `repeats` runs, and what the run returned."""
    best, result = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best / records * 1e6, result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="records per payload")
    parser.add_argument(
        "--parquet-records", type=int, default=20_000, help="records per Parquet payload"
    )
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs")
    args = parser.parse_args(argv)
    try:
        import kafka_beat_native as native
    except ImportError:
        print("kafka_beat_native is not installed: .venv/bin/pip install ./native", file=sys.stderr)
        return 1

    print(f"{'payload':<28} {'python µs':>10} {'native µs':>10} {'speed-up':>9} {'deferred':>9}")
    for name, (make, time_field) in _PAYLOADS.items():
        records = _records(make, args.records)
        batches = [records[at : at + _BATCH] for at in range(0, len(records), _BATCH)]
        encoder = Encoder("auto", "auto", time_field)
        python = partial(_python, batches, encoder)
        python_us, _ = _best_us(python, len(records), args.repeats)
        batched = partial(_native, native, batches, encoder, time_field)
        native_us, deferred = _best_us(batched, len(records), args.repeats)
        print(
            f"{name:<28} {python_us:>10.2f} {native_us:>10.2f} {python_us / native_us:>8.1f}x "
            f"{deferred / len(records):>9.1%}"
        )
    _parquet(native, args.parquet_records, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
