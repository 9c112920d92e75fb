"""Dead letters: invalid records stored apart, one create-only object per record.

An object named by the record's own offset cannot be stored twice, whoever writes it and however
often; that is what lets dead letters share the data chain's exactly-once rule without a chain
of their own.
"""

from __future__ import annotations

import io

from handler.format.compression import Codec
from handler.format.envelope import Encoded
from handler.format.layout import (
    FORMAT_VERSION,
    META_FORMAT,
    META_OFFSET,
    META_REASON,
    META_WRITER,
    dead_letter_key,
    hour_bucket,
)
from handler.record import Record
from handler.stores.base import PutOutcome, Store


def store_dead_letter(
    store: Store, codec: Codec, level: int | None, writer: str, record: Record, encoded: Encoded
) -> bool:
    """Store the record's dead letter; True if this call created it (not found stored)."""
    compressor = codec.compressor(level)
    body = compressor.compress(encoded.line) + compressor.flush()
    key = dead_letter_key(
        store.prefix,
        record.topic,
        record.partition,
        record.offset,
        encoded.event_time,
        codec.extension,
    )
    metadata = {
        META_FORMAT: FORMAT_VERSION,
        META_OFFSET: str(record.offset),
        META_REASON: encoded.problems[0].reason(),
        META_WRITER: writer,
    }
    outcome = store.put_if_absent(key, io.BytesIO(body), len(body), metadata, codec.content_type)
    return outcome is PutOutcome.CREATED


def count_oddities(counts: dict[str, int], record: Record, encoded: Encoded) -> None:
    """Tally what the run summary reports about unusual records."""

    def bump(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    for problem in encoded.problems:
        bump(f"invalid {problem.reason()}")
    if record.value is None:
        bump("tombstones")
    if hour_bucket(encoded.event_time) is None:
        bump("unknown_time")
    if encoded.time_from_field is False:
        bump("time_field_missing")
