"""The record type every module but the Kafka source sees."""

from __future__ import annotations

from dataclasses import dataclass

TIMESTAMP_TYPES = ("create", "log_append")


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record as consumed: the bytes exactly as the broker returned them."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    """Milliseconds since the epoch; -1 when the producer set none."""
    timestamp_type: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
