"""The record type every module but the Kafka source sees."""

from __future__ import annotations

from typing import NamedTuple


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
