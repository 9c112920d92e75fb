"""Object keys: a pure function of topic, partition, start position and the first record's time.

Whoever stands at a chain position computes the same key, so the key never depends on the
wall clock, the writer or the run.
"""

from __future__ import annotations

from datetime import UTC, datetime

OFFSET_DIGITS = 20  # a Kafka offset is a signed 64-bit number: at most 19 digits
UNKNOWN_TIME_FOLDER = "dt=unknown/hour=unknown"
_MAX_TIMESTAMP_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


def hour_bucket(timestamp_ms: int) -> int | None:
    """Hours since the epoch, or None for a timestamp no calendar folder can hold."""
    if timestamp_ms < 0 or timestamp_ms > _MAX_TIMESTAMP_MS:
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
