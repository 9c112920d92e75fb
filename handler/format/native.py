"""The native batch encoder: `kafka_beat_native`, built from `native/` (Rust, PyO3) by
`scripts/setup`, encoding a whole poll batch per call with the GIL released.

Its lines are byte for byte `Encoder.encode(record).line` (`envelope.py`, which stays the
reference and the fallback): a record it cannot encode exactly (an invalid one, a document
written again in a rarer form) it defers, and the Python encoder takes that one. It reads the
clients' own record objects (kafka-python's `ConsumerRecord`, confluent-kafka's `Message`) and
our `Record`, so no Python object is made per record on the way.

For Parquet objects the same call keeps each record's columns, and a run's come out as Arrow
buffers in one call (`native_columns.py`).

KAFKA_BEAT_ENCODER chooses: `auto` (the native encoder where it is built, else the Python one),
`native` (refused, exit 2, where it is not built) or `python`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, Protocol

from handler.record import Record, RecordBatch


def _module() -> ModuleType | None:
    try:
        return importlib.import_module("kafka_beat_native")
    except ImportError:
        return None


_NATIVE = _module()


def chosen_encoder(choice: str) -> Literal["native", "python"]:
    """Which encoder a run with KAFKA_BEAT_ENCODER `choice` uses (the settings refuse
    `native` where it is not built)."""
    if choice == "python" or _NATIVE is None:
        return "python"
    return "native"


@dataclass(frozen=True)
class BatchEncoder:
    """The native encoder under one set of key and value formats and time field."""

    key_format: str
    value_format: str
    time_field: str | None
    parquet_fields: tuple[tuple[str, str], ...] | None = None
    """For Parquet objects, the typed fields as (name, type), possibly none: the batch then
    keeps each record's columns (`Batch.columns`); None for JSON lines."""

    def encode(self, records: Sequence[Record]) -> Any:
        """A `kafka_beat_native.Batch` of `records`: a source's `RecordBatch` (the client's
        objects) or a sequence of `Record`s."""
        assert _NATIVE is not None, "chosen_encoder said native"
        if isinstance(records, RecordBatch):
            raw, kind = records.raw, records.kind
        else:
            raw, kind = list(records), "record"
        fields = None if self.parquet_fields is None else list(self.parquet_fields)
        return _NATIVE.encode_batch(
            raw, kind, self.key_format, self.value_format, self.time_field, fields
        )


class Run(Protocol):
    """A run of records the native encoder took (`kafka_beat_native.Taken`), as the builder
    counts it."""

    @property
    def next_index(self) -> int: ...
    @property
    def records(self) -> int: ...
    @property
    def first_offset(self) -> int: ...
    @property
    def last_offset(self) -> int: ...
    @property
    def bytes_encoded(self) -> int: ...
    @property
    def min_event_time(self) -> int: ...
    @property
    def max_event_time(self) -> int: ...
    @property
    def late(self) -> int: ...
    @property
    def line_start(self) -> int: ...
    @property
    def line_end(self) -> int: ...
