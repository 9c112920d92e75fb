"""Object keys: a pure function of topic, partition, start position and the first record's time.

Whoever stands at a chain position computes the same key, so the key never depends on the
wall clock, the writer or the run.
"""

from __future__ import annotations

from datetime import UTC, datetime

OFFSET_DIGITS = 20  # a Kafka offset is a signed 64-bit number: at most 19 digits
UNKNOWN_TIME_FOLDER = "dt=unknown/hour=unknown"
# Timestamps outside [1970, 2100) are producer bugs (unset clocks, microseconds taken for
# milliseconds); a fixed bound, not the wall clock, so every writer names objects alike.
MAX_TIMESTAMP_MS = 4102444800000  # 2100-01-01T00:00:00Z


def hour_bucket(timestamp_ms: int) -> int | None:
    """Hours since the epoch, or None for a timestamp no calendar folder can hold."""
    if timestamp_ms < 0 or timestamp_ms >= MAX_TIMESTAMP_MS:
        return None
    return timestamp_ms // 3_600_000


def time_folder(timestamp_ms: int) -> str:
    """Hive-style `dt=YYYY-MM-DD/hour=HH` of a record timestamp, in UTC."""
    if hour_bucket(timestamp_ms) is None:
        return UNKNOWN_TIME_FOLDER
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return f"dt={moment:%Y-%m-%d}/hour={moment:%H}"


def object_name(topic: str, partition: int, start: int, extension: str) -> str:
    return f"{topic}+{partition}+{start:0{OFFSET_DIGITS}d}{extension}"


def object_key(
    prefix: str, topic: str, partition: int, start: int, first_timestamp_ms: int, extension: str
) -> str:
    """`{prefix}/{topic}/dt=…/hour=…/{topic}+{partition}+{start:020d}{extension}`."""
    parts = [
        prefix.strip("/"),
        topic,
        time_folder(first_timestamp_ms),
        object_name(topic, partition, start, extension),
    ]
    return "/".join(part for part in parts if part)


DEAD_LETTER_FOLDER = "_dead_letter"


def dead_letter_key(
    prefix: str, topic: str, partition: int, offset: int, event_time_ms: int, extension: str
) -> str:
    """`{prefix}/_dead_letter/{topic}/dt=…/hour=…/{topic}+{partition}+{offset:020d}{ext}`:
    one object per invalid record, named by its own offset, so storing it twice is impossible."""
    parts = [
        prefix.strip("/"),
        DEAD_LETTER_FOLDER,
        topic,
        time_folder(event_time_ms),
        object_name(topic, partition, offset, extension),
    ]
    return "/".join(part for part in parts if part)
