"""A record's event time read from a field of its value (`KAFKA_BEAT_TIME_FIELD`, the typed
Parquet timestamp columns): ISO-8601 text or an epoch number, in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_event_time(value: Any) -> int | None:
    """Milliseconds since the epoch from an ISO-8601 string or an epoch number (seconds,
    milliseconds, microseconds or nanoseconds, told apart by magnitude)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        magnitude = abs(value)
        if magnitude < 1e11:
            return int(value * 1000)  # seconds
        if magnitude < 1e14:
            return int(value)  # milliseconds
        return int(value / 1000) if magnitude < 1e17 else int(value / 1_000_000)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return None
