"""The source read with kafka-python (KAFKA_BEAT_KAFKA_CLIENT=kafka-python, the default); see
handler/kafka/source.py for the rules every source keeps.

The consumer never resets offsets on its own (`auto_offset_reset="none"`): a partition with no
committed offset, or one whose committed offset retention already deleted, comes back to the run
as an event, so a reset is always a decision the run takes and reports, never a silent skip.
Auto-commit is off: offsets move only through `commit`, after the objects are stored.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import Any

import kafka.errors as kafka_errors
from kafka.structs import OffsetAndMetadata, TopicPartition

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.errors import KafkaBeatError, SourceError, TransientError
from handler.kafka.kafka_python.bootstrap import refusal, start_consumer
from handler.kafka.kafka_python.options import consumer_options
from handler.kafka.security import warn_if_hostname_unchecked
from handler.kafka.source import CommitRejected, PollResult
from handler.kafka.topics import require_partitions, select
from handler.record import Record, RecordBatch

_TIMESTAMP_TYPES = {0: "create", 1: "log_append"}


def _ref(tp: Any) -> PartitionRef:
    return PartitionRef(tp.topic, tp.partition)


def _tp(ref: PartitionRef) -> TopicPartition:
    return TopicPartition(ref.topic, ref.partition)


def _record(raw: Any) -> Record:
    headers = raw.headers
    return Record(
        raw.topic,
        raw.partition,
        raw.offset,
        -1 if raw.timestamp is None else raw.timestamp,
        _TIMESTAMP_TYPES.get(raw.timestamp_type, "create"),
        raw.key,
        raw.value,
        tuple(map(tuple, headers)) if headers else (),
    )


class KafkaPythonSource:
    """A kafka-python consumer in group mode (subscribe) or explicit-partition mode (assign)."""

    client = "kafka-python"

    def __init__(self, settings: Settings, max_poll_records: int = 2000) -> None:
        self._settings = settings
        warn_if_hostname_unchecked(settings)
        # A refused bootstrap (TLS, SASL) ends in about a second with AuthError; an unreachable
        # one is retried for kafka_timeout_seconds, then SourceError (see start_consumer).
        self._consumer: Any = start_consumer(settings, consumer_options(settings, max_poll_records))

    def start(self) -> list[str]:
        """Assign the explicit partitions, or subscribe to the topics or pattern.

        Returns the listed topics the cluster does not have: the run collects the others and
        reports these. Raises SourceError when none of them exists."""
        settings = self._settings
        if settings.topic_pattern:
            # kafka-python tests a pattern with re.match (a prefix); the pattern must name whole
            # topics, as Kafka's own clients and `check` read it: `orders` is not `orders-dlq`.
            self._consumer.subscribe(pattern=f"(?:{settings.topic_pattern})\\Z")
            return []
        chosen = select(settings, self.topics()).present_or_refuse()
        if settings.assign_mode:
            require_partitions(chosen.explicit, self._partitions)
            self._consumer.assign([_tp(ref) for ref in chosen.explicit])
        else:
            self._consumer.subscribe(topics=chosen.topics)
        return chosen.missing

    def topics(self) -> set[str]:
        """The topics the cluster has now."""
        return set(self._call("listing topics", self._consumer.topics))

    def _partitions(self, topic: str) -> set[int]:
        return set(self._consumer.partitions_for_topic(topic) or ())

    def partitions_of(self, topics: Iterable[str]) -> list[PartitionRef]:
        return [PartitionRef(t, p) for t in sorted(topics) for p in sorted(self._partitions(t))]

    def records_at(
        self, positions: dict[PartitionRef, int], timeout_seconds: float
    ) -> dict[PartitionRef, Record]:
        """The first record at or after each position (none where a partition has none within
        the timeout). Assigns the partitions to this consumer: for read-only tools, not runs."""
        tps = [_tp(ref) for ref in positions]
        self._consumer.assign(tps)
        self._consumer.resume(*tps)
        for ref, offset in positions.items():
            self._consumer.seek(_tp(ref), offset)
        found: dict[PartitionRef, Record] = {}
        deadline = time.monotonic() + timeout_seconds
        while len(found) < len(positions) and time.monotonic() < deadline:
            result = self.poll(0.5, None)
            for ref, records in result.records.items():
                if records and ref not in found:
                    found[ref] = records[0]
                    self._consumer.pause(_tp(ref))
        return found

    def assignment(self) -> set[PartitionRef]:
        return {_ref(tp) for tp in self._consumer.assignment()}

    def poll(self, timeout_seconds: float, max_records: int | None) -> PollResult:
        result = PollResult()
        try:
            batches = self._consumer.poll(
                timeout_ms=max(0, int(timeout_seconds * 1000)), max_records=max_records
            )
        except kafka_errors.NoOffsetForPartitionError as exc:
            result.without_offset = {_ref(tp) for tp in exc.args[0]}
            return result
        except kafka_errors.OffsetOutOfRangeError as exc:
            result.out_of_range = {_ref(tp): offset for tp, offset in exc.args[0].items()}
            return result
        except kafka_errors.KafkaError as exc:
            raise self._translate(exc, "fetching from Kafka") from exc
        for tp, raws in batches.items():
            result.records[_ref(tp)] = RecordBatch(raws, "kafka-python", _record)
        return result

    def committed(self, ref: PartitionRef) -> int | None:
        return self._call("reading committed offsets", self._consumer.committed, _tp(ref))  # type: ignore[no-any-return]

    def log_bounds(self, refs: Iterable[PartitionRef]) -> dict[PartitionRef, tuple[int, int]]:
        """Per partition, the log-start offset and the end offset (the last stable offset
        under read_committed), as the broker sees them now."""
        tps = [_tp(ref) for ref in refs]
        if not tps:
            return {}
        timeout_ms = int(self._settings.kafka_timeout_seconds * 1000)
        starts = self._call("listing offsets", self._consumer.beginning_offsets, tps, timeout_ms)
        ends = self._call("listing offsets", self._consumer.end_offsets, tps, timeout_ms)
        return {_ref(tp): (starts[tp], ends[tp]) for tp in tps}

    def position(self, ref: PartitionRef) -> int:
        return int(self._call("reading the position", self._consumer.position, _tp(ref)))

    def seek(self, ref: PartitionRef, offset: int) -> None:
        """Move the fetch position; a partition the group took away has none to move (the
        member that owns it now starts from the chain, not from us)."""
        if ref in self.assignment():
            self._consumer.seek(_tp(ref), offset)

    def pause(self, ref: PartitionRef) -> None:
        if ref in self.assignment():
            self._consumer.pause(_tp(ref))

    def commit(self, offsets: dict[PartitionRef, int], run_id: str) -> None:
        """Commit `offsets` for the group. CommitRejected when the group gave the partitions
        to another member; TransientError when the commit may succeed on retry."""
        payload = {
            _tp(ref): OffsetAndMetadata(offset, f"kafka-beat {run_id}", -1)
            for ref, offset in offsets.items()
        }
        try:
            self._consumer.commit(offsets=payload)
        except (kafka_errors.CommitFailedError, kafka_errors.RebalanceInProgressError) as exc:
            raise CommitRejected(f"the group refused the commit: {exc}") from exc
        except kafka_errors.KafkaError as exc:
            raise self._translate(exc, "committing offsets") from exc

    def close(self) -> None:
        # Leaving the group is a courtesy; nothing stored depends on it.
        with contextlib.suppress(kafka_errors.KafkaError):
            self._consumer.close(autocommit=False)

    def _call(self, action: str, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except kafka_errors.KafkaError as exc:
            raise self._translate(exc, action) from exc

    def _translate(self, exc: Exception, action: str) -> KafkaBeatError:
        """Our error for a client error: refused (exit 3), transient (retried) or final."""
        refused = refusal(exc, self._settings)
        if refused is not None:
            return refused
        if getattr(exc, "retriable", False) or isinstance(exc, kafka_errors.KafkaTimeoutError):
            return TransientError(f"{action} failed: {exc}")
        return SourceError(f"{action} failed: {exc}")
