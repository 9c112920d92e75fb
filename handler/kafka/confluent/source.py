"""The source read with confluent-kafka on librdkafka (KAFKA_BEAT_KAFKA_CLIENT=confluent); see
handler/kafka/source.py for the rules every source keeps. confluent-kafka is imported only
in this folder (`bootstrap.py` starts the consumer, `errors.py` translates its errors).

librdkafka differs from kafka-python in ways this module absorbs:

- `auto.offset.reset=error` makes a partition with no committed offset, or one whose offset
  retention deleted, come back from `consume()` as an `_AUTO_OFFSET_RESET` error naming the
  partition (and the offset, when it was out of range); the fetcher then stops there.
- `seek()` only moves a partition that is fetching; a partition whose fetcher stopped (after that
  error) or has not started yet (its committed offset still being read) answers `_STATE` or
  `_IN_PROGRESS`. Such a partition is assigned again at the offset instead (`_restart`).
- In explicit-partition mode nothing is assigned until the run has decided where each partition
  starts: librdkafka never reads the committed offset itself, the run's `committed()` does.
- The position is unknown (-1001) between a seek and the next record; until then it is the
  offset sought.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import (
    OFFSET_INVALID,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.errors import AuthError, TransientError
from handler.kafka.confluent.bootstrap import start_consumer
from handler.kafka.confluent.errors import NOT_FETCHING, commit_error, translate
from handler.kafka.confluent.options import consumer_config
from handler.kafka.security import warn_if_hostname_unchecked
from handler.kafka.source import PollResult
from handler.kafka.topics import require_partitions, select
from handler.observe.logs import get_logger
from handler.record import Record, RecordBatch

_BATCH = 10_000
"""Records asked of one consume() at most: librdkafka hands over what it has prefetched."""
_POLL_BYTES = 8 * 1024 * 1024
"""About what one consume() may hand over: consume() keeps taking what the fetcher brings in
until it has the count asked or its timeout passes, whatever their size, so the count follows
the records' size (24 records of 9 MB came in one call, 505 MiB at the peak)."""
_FIRST_BATCH = 1
"""The count asked before any record's size is known."""
_SAMPLED = 32
"""Records whose value sizes estimate a batch's (every Nth, the first included)."""
log = get_logger()


def _ref(tp: TopicPartition) -> PartitionRef:
    return PartitionRef(tp.topic, tp.partition)


def _tp(ref: PartitionRef, offset: int = OFFSET_INVALID) -> TopicPartition:
    return TopicPartition(ref.topic, ref.partition, offset)


def _record(message: Message) -> Record:
    kind, timestamp = message.timestamp()
    headers = message.headers()
    return Record(
        message.topic() or "",
        message.partition() or 0,
        message.offset() or 0,
        timestamp,
        "log_append" if kind == TIMESTAMP_LOG_APPEND_TIME else "create",
        message.key(),
        message.value(),
        tuple(headers) if headers else (),  # type: ignore[arg-type]
    )


class ConfluentSource:
    """A confluent-kafka consumer in group mode (subscribe) or explicit-partition mode."""

    client = "confluent"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        warn_if_hostname_unchecked(settings)
        self._consumer = start_consumer(settings, consumer_config(settings))
        self._wanted: set[PartitionRef] = set()
        """Explicit-partition mode: the partitions this run assigned itself."""
        self._started: set[PartitionRef] = set()
        """Explicit-partition mode: those librdkafka fetches (the run decided their start)."""
        self._pending: dict[PartitionRef, int] = {}
        """Positions to assign at the next poll."""
        self._next: dict[PartitionRef, int] = {}
        """Per partition, the offset after the last record handed over, or the one sought."""
        self._paused: set[PartitionRef] = set()
        self._subscribed = False
        self._per_poll = _FIRST_BATCH

    def start(self) -> list[str]:
        settings = self._settings
        chosen = select(settings, self.topics())
        if settings.topic_pattern:
            # The topics the pattern names whole, as `check` and `status` select them (Python's
            # re): librdkafka's own regex dialect would read some patterns otherwise. A topic
            # created during the run is collected by the next run.
            if chosen.topics:
                self._subscribe(chosen.topics)
            return []
        chosen.present_or_refuse()
        if settings.assign_mode:
            require_partitions(chosen.explicit, self._partitions)
            self._wanted = set(chosen.explicit)  # assigned once the run seeks each (see poll)
        else:
            self._subscribe(chosen.topics)
        return chosen.missing

    def _subscribe(self, topics: list[str]) -> None:
        self._subscribed = True
        self._consumer.subscribe(topics, on_revoke=self._revoked)

    def _revoked(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._next.pop(_ref(tp), None)
            self._paused.discard(_ref(tp))
            self._pending.pop(_ref(tp), None)

    # -- the cluster ----------------------------------------------------------------------------

    def _metadata(self, topic: str | None = None) -> Any:
        timeout = self._settings.kafka_timeout_seconds
        return self._call("listing topics", self._consumer.list_topics, topic, timeout)

    def topics(self) -> set[str]:
        topics = self._metadata().topics
        return {name for name, meta in topics.items() if meta.error is None}

    def _partitions(self, topic: str) -> set[int]:
        meta = self._metadata(topic).topics.get(topic)
        if meta is None or meta.error is not None:
            return set()
        return set(meta.partitions)

    def partitions_of(self, topics: Iterable[str]) -> list[PartitionRef]:
        refs: list[PartitionRef] = []
        for topic in sorted(topics):
            refs.extend(PartitionRef(topic, p) for p in sorted(self._partitions(topic)))
        return refs

    def log_bounds(self, refs: Iterable[PartitionRef]) -> dict[PartitionRef, tuple[int, int]]:
        # librdkafka lists offsets with the consumer's isolation.level: under read_committed
        # the high watermark it answers is the last stable offset.
        timeout = self._settings.kafka_timeout_seconds
        bounds: dict[PartitionRef, tuple[int, int]] = {}
        for ref in refs:
            low, high = self._call(
                "listing offsets", self._consumer.get_watermark_offsets, _tp(ref), timeout, False
            )
            bounds[ref] = (low, high)
        return bounds

    def committed(self, ref: PartitionRef) -> int | None:
        timeout = self._settings.kafka_timeout_seconds

        def fetch() -> int:
            [found] = self._consumer.committed([_tp(ref)], timeout)
            if found.error is not None:
                raise KafkaException(found.error)
            return int(found.offset)

        offset: int = self._call("reading committed offsets", fetch)
        return None if offset < 0 else offset

    # -- consuming ------------------------------------------------------------------------------

    def assignment(self) -> set[PartitionRef]:
        if not self._subscribed:
            return set(self._wanted)
        return {_ref(tp) for tp in self._consumer.assignment()}

    def poll(self, timeout_seconds: float, max_records: int | None) -> PollResult:
        self._assign_pending()
        result = PollResult()
        count = max(1, min(self._per_poll, max_records or _BATCH))
        try:
            messages = self._consumer.consume(count, max(0.0, timeout_seconds))
        except KafkaException as exc:
            raise translate(exc, self._settings, "fetching from Kafka") from exc
        # Grouped by (topic, partition) as plain tuples, made refs once per partition: a
        # consume() hands over thousands of messages, mostly of one partition in a row.
        grouped: dict[tuple[str | None, int | None], list[Message]] = {}
        for message in messages:
            error = message.error()
            if error is None:
                where = (message.topic(), message.partition())
                batch = grouped.get(where)
                if batch is None:
                    batch = grouped[where] = []
                batch.append(message)
            else:
                self._poll_error(message, error, result)
        self._size_next_poll(messages)
        for (topic, partition), batch in grouped.items():
            ref = PartitionRef(topic or "", partition or 0)
            result.records[ref] = RecordBatch(batch, "confluent", _record)
            self._next[ref] = (batch[-1].offset() or 0) + 1
        return result

    def _size_next_poll(self, messages: list[Message]) -> None:
        """How many records the next consume() asks for: what fits _POLL_BYTES at the sizes of
        a sample of these."""
        if not messages:
            return
        sample = messages[::_SAMPLED]
        average = sum(len(message.value() or b"") for message in sample) / len(sample)
        self._per_poll = max(1, min(_BATCH, int(_POLL_BYTES // max(1.0, average))))

    def _poll_error(self, message: Message, error: KafkaError, result: PollResult) -> None:
        code = error.code()
        if code == KafkaError._AUTO_OFFSET_RESET and message.topic() is not None:
            ref = PartitionRef(message.topic() or "", message.partition() or 0)
            offset = message.offset()
            if offset is None or offset < 0:
                result.without_offset.add(ref)
            else:
                result.out_of_range[ref] = offset
            return
        if code == KafkaError._PARTITION_EOF:
            return
        exc = KafkaException(error)
        translated = translate(exc, self._settings, "fetching from Kafka")
        if isinstance(translated, AuthError) or error.fatal():
            raise translated from exc
        # librdkafka retries these itself (a coordinator moving, a broker restarting).
        log.warning("Kafka consumer error", extra={"error": error.str()})

    def _assign_pending(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        if self._subscribed:
            self._reassign_all(pending)
            return
        fresh = [_tp(ref, offset) for ref, offset in pending.items() if ref not in self._started]
        if fresh:
            self._consumer.incremental_assign(fresh)
            self._started.update(_ref(tp) for tp in fresh)
        for ref, offset in pending.items():
            if ref in self._started and ref not in {_ref(tp) for tp in fresh}:
                self._restart(ref, offset)
        self._repause(pending)

    def _restart(self, ref: PartitionRef, offset: int) -> None:
        """Explicit-partition mode: assign `ref` again, fetching from `offset`."""
        self._consumer.incremental_unassign([_tp(ref)])
        self._consumer.incremental_assign([_tp(ref, offset)])

    def _reassign_all(self, moved: dict[PartitionRef, int]) -> None:
        """Group mode: assign the group's partitions again (the eager protocol allows only a
        whole assignment), `moved` at their new offsets, the others where they were."""
        current = [_ref(tp) for tp in self._consumer.assignment()]
        self._consumer.assign(
            [_tp(ref, moved.get(ref, self._next.get(ref, OFFSET_INVALID))) for ref in current]
        )
        self._repause(current)

    def _repause(self, refs: Iterable[PartitionRef]) -> None:
        again = [_tp(ref) for ref in refs if ref in self._paused]
        if again:
            self._consumer.pause(again)

    def position(self, ref: PartitionRef) -> int:
        if ref in self._pending:
            return self._pending[ref]
        [found] = self._consumer.position([_tp(ref)])
        if found.offset is not None and found.offset >= 0:
            return int(found.offset)
        return self._next.get(ref, -1)

    def seek(self, ref: PartitionRef, offset: int) -> None:
        if ref not in self.assignment():
            return
        self._next[ref] = offset
        fetching = ref in self._started if not self._subscribed else ref not in self._pending
        if fetching:
            try:
                self._consumer.seek(_tp(ref, offset))
                return
            except KafkaException as exc:
                if exc.args[0].code() not in NOT_FETCHING:
                    raise translate(exc, self._settings, "seeking") from exc
        self._pending[ref] = offset

    def pause(self, ref: PartitionRef) -> None:
        if ref not in self.assignment():
            return
        self._paused.add(ref)
        self._pending.pop(ref, None)
        if self._subscribed or ref in self._started:
            self._consumer.pause([_tp(ref)])

    def records_at(
        self, positions: dict[PartitionRef, int], timeout_seconds: float
    ) -> dict[PartitionRef, Record]:
        tps = [_tp(ref, offset) for ref, offset in positions.items()]
        self._consumer.assign(tps)
        # librdkafka keeps a partition's pause across assignments (an earlier call paused it).
        self._consumer.resume(tps)
        found: dict[PartitionRef, Record] = {}
        deadline = time.monotonic() + timeout_seconds
        while len(found) < len(positions) and time.monotonic() < deadline:
            for message in self._consumer.consume(1000, 0.5):
                if message.error() is not None or message.topic() is None:
                    continue
                ref = PartitionRef(message.topic() or "", message.partition() or 0)
                if ref in positions and ref not in found:
                    found[ref] = _record(message)
                    self._consumer.pause([_tp(ref)])
        self._consumer.unassign()
        return found

    # -- committing -----------------------------------------------------------------------------

    def commit(self, offsets: dict[PartitionRef, int], run_id: str) -> None:
        # confluent-kafka sends the metadata with its C string's NUL (metadata_size is
        # strlen + 1; confluentinc/confluent-kafka-python#1410): a reader sees
        # "kafka-beat <run id>\0". Nothing of Kafka Beat reads it back.
        payload = [
            TopicPartition(ref.topic, ref.partition, offset, metadata=f"kafka-beat {run_id}")
            for ref, offset in offsets.items()
        ]
        try:
            answered = self._consumer.commit(offsets=payload, asynchronous=False)
        except KafkaException as exc:
            raise commit_error(self._settings, exc) from exc
        for tp in answered or []:
            if tp.error is not None:
                raise commit_error(self._settings, KafkaException(tp.error))

    def close(self) -> None:
        # Leaving the group is a courtesy; nothing stored depends on it.
        with contextlib.suppress(KafkaException, RuntimeError):
            self._consumer.close()

    # -- errors ---------------------------------------------------------------------------------

    def _call(self, action: str, method: Any, *args: Any) -> Any:
        """`method(*args)`, retrying what librdkafka calls retriable until the Kafka timeout
        (kafka-python's calls do so inside the client)."""
        deadline = time.monotonic() + self._settings.kafka_timeout_seconds
        while True:
            try:
                return method(*args)
            except KafkaException as exc:
                translated = translate(exc, self._settings, action)
                if not isinstance(translated, TransientError) or time.monotonic() >= deadline:
                    raise translated from exc
            time.sleep(0.2)
