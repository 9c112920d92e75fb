"""The storage layout: every key Kafka Beat writes and every `kb-*` metadata name (and the
Parquet footer's `kafka_beat.*` names), in one place.

Data objects: `{prefix}/{topic}/dt=…/hour=…/{topic}+{partition}+{start:020d}{extension}`, a pure
function of topic, partition, start position and the first record's time, so whoever stands at
a chain position computes the same key, never from the wall clock, the writer or the run.
Everything else Kafka Beat keeps (checkpoints, position records, manifests, the create-only
probe) lives under `{prefix}/_kafka_beat/`, outside the topic folders that query engines read;
dead letters under `{prefix}/_dead_letter/`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

OFFSET_DIGITS = 20  # a Kafka offset is a signed 64-bit number: at most 19 digits
UNKNOWN_TIME_FOLDER = "dt=unknown/hour=unknown"
# Timestamps outside [1970, 2100) are producer bugs (unset clocks, microseconds taken for
# milliseconds); a fixed bound, not the wall clock, so every writer names objects alike.
MAX_TIMESTAMP_MS = 4102444800000  # 2100-01-01T00:00:00Z

STATE_FOLDER = "_kafka_beat"
DEAD_LETTER_FOLDER = "_dead_letter"
PROBE_NAME = f"{STATE_FOLDER}/probe/create-only"

# Object metadata (S3 user metadata; the local directory keeps none and reads the content).
FORMAT_VERSION = "1"
META_FORMAT = "kb-format"
META_START = "kb-start"
META_NEXT = "kb-next"
META_RECORDS = "kb-records"
META_WRITER = "kb-writer"
META_FIRST_OFFSET = "kb-first-offset"
META_LAST_OFFSET = "kb-last-offset"
META_MIN_TIMESTAMP = "kb-min-timestamp"
META_MAX_TIMESTAMP = "kb-max-timestamp"
META_SHA256 = "kb-sha256"
META_GAP_FROM = "kb-gap-from"  # set on the first object after accepted data loss
META_DEAD_LETTERS = "kb-dead-letters"  # invalid records of the range, in the companion
META_PROBE = "kb-probe"

# A Parquet object's footer (key-value metadata): how it was written, so a reader gives back
# the very lines a JSON-lines object of the same records holds.
PARQUET_FORMAT_VERSION = "1"
PARQUET_META_FORMAT = "kafka_beat.format"
PARQUET_META_KEY_FORMAT = "kafka_beat.key_format"
PARQUET_META_VALUE_FORMAT = "kafka_beat.value_format"
PARQUET_META_FIELDS = "kafka_beat.fields"
PARQUET_META_WRITER = "kafka_beat.writer"
# Objects of a Schema Registry value format: the schema ids of the typed `value` column's
# values, and every schema met, embedded so the lines come back without the registry.
PARQUET_META_VALUE_SCHEMA_IDS = "kafka_beat.value_schema_ids"
PARQUET_META_SCHEMAS = "kafka_beat.schemas"

_OBJECT_NAME = re.compile(
    r"(?P<topic>[^/]+)\+(?P<partition>\d+)\+(?P<start>\d{20})(?P<ext>\.[^/]+)$"
)


def join_key(*parts: str) -> str:
    """Parts joined by `/`, the prefix's own slashes trimmed and empty parts (no prefix) left
    out, so a key never starts with or doubles a slash."""
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


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


def parse_object_name(key: str) -> tuple[str, int, int, str] | None:
    """(topic, partition, start, extension) of a data object or dead letter's key."""
    match = _OBJECT_NAME.search(key)
    if match is None:
        return None
    return match["topic"], int(match["partition"]), int(match["start"]), match["ext"]


def object_key(
    prefix: str, topic: str, partition: int, start: int, first_timestamp_ms: int, extension: str
) -> str:
    """`{prefix}/{topic}/dt=…/hour=…/{topic}+{partition}+{start:020d}{extension}`."""
    return join_key(
        prefix,
        topic,
        time_folder(first_timestamp_ms),
        object_name(topic, partition, start, extension),
    )


def prefix_of(data_key: str) -> str:
    """The destination prefix a data object's key was made under."""
    return "/".join(data_key.split("/")[:-4])


def dead_letters_key(data_key: str) -> str:
    """The companion of a data object: `_dead_letter/` between the prefix and the topic folder,
    so one range's invalid records sit in one object named like its data."""
    parts = data_key.split("/")
    return join_key(*parts[:-4], DEAD_LETTER_FOLDER, *parts[-4:])


def is_state_key(key: str) -> bool:
    """Kafka Beat's own bookkeeping, not data: under the state folder at any depth."""
    return STATE_FOLDER in key.split("/")


def is_dead_letter_key(key: str) -> bool:
    return DEAD_LETTER_FOLDER in key.split("/")


def checkpoints_folder(prefix: str) -> str:
    return join_key(prefix, STATE_FOLDER, "checkpoints") + "/"


def checkpoint_key(prefix: str, topic: str, partition: int) -> str:
    return join_key(checkpoints_folder(prefix), topic, f"{partition}.json")


def position_key(prefix: str, topic: str, partition: int, position: int) -> str:
    """Where the record of who owns a chain position lives: topic, partition and position
    alone, so no setting, compaction or retention can move it."""
    return join_key(
        prefix,
        STATE_FOLDER,
        "positions",
        topic,
        str(partition),
        f"{position:0{OFFSET_DIGITS}d}.json",
    )


def manifest_key(prefix: str, run_id: str, day: datetime | None = None) -> str:
    """Where a run's manifest goes: by the day it ran (manifests are per run, not per chain)."""
    moment = day or datetime.now(UTC)
    return join_key(prefix, STATE_FOLDER, "manifests", f"dt={moment:%Y-%m-%d}", f"{run_id}.json")


def is_manifest_key(key: str) -> bool:
    return f"{STATE_FOLDER}/manifests/" in key and key.endswith(".json")


def probe_key(prefix: str) -> str:
    return join_key(prefix, PROBE_NAME)
