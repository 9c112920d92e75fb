"""The record type every module but the Kafka sources sees, and the batch a poll hands over."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, overload


class Record(NamedTuple):
    """One Kafka record as consumed: the bytes exactly as the broker returned them.

    A tuple, not a dataclass: one is built per record consumed, and a tuple is the cheapest
    immutable thing Python builds."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    """Milliseconds since the epoch; -1 when the producer set none."""
    timestamp_type: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


class RecordBatch(Sequence[Record]):
    """One partition's records of one poll, as the client handed them over: `raw`, of `kind`
    (what the native encoder reads: "kafka-python" or "confluent"), each read as a `Record`
    only when indexed, so no Python object is made per record unless one is needed."""

    __slots__ = ("_read", "kind", "raw")

    def __init__(self, raw: list[Any], kind: str, read: Callable[[Any], Record]) -> None:
        self.raw = raw
        self.kind = kind
        self._read = read

    def __len__(self) -> int:
        return len(self.raw)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self._read(raw) for raw in self.raw[index]]
        return self._read(self.raw[index])
