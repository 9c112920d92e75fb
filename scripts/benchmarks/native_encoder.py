"""The native batch encoder (native/, `kafka_beat_native`) beside the Python encoder it must
equal: µs per record on the benchmark's log lines and 4 KB documents, batches of a poll's size,
and the share of records it defers to the Python encoder. The best of several repetitions
(the machine may be shared); the native figure includes reading the records and, when the
batch has deferred records, the Python encoder on those.

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

from handler.format.envelope import Encoder
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
