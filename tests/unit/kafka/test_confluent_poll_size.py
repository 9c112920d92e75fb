"""How many records a confluent-kafka poll asks for: what fits about 8 MiB at the sizes seen."""

from __future__ import annotations

import pytest

pytest.importorskip("confluent_kafka")

from handler.kafka.confluent import source
from handler.kafka.confluent.source import ConfluentSource


class Message:
    def __init__(self, size: int | None) -> None:
        self._value = None if size is None else b"x" * size

    def value(self) -> bytes | None:
        return self._value


def sized(messages: list[Message]) -> int:
    polling = object.__new__(ConfluentSource)
    polling._per_poll = source._FIRST_BATCH
    polling._size_next_poll(messages)  # type: ignore[arg-type]
    return polling._per_poll


def test_the_first_poll_asks_for_one_record_before_any_size_is_known() -> None:
    assert source._FIRST_BATCH == 1
    assert sized([]) == 1


def test_log_lines_fill_a_whole_batch_and_big_records_come_one_at_a_time() -> None:
    assert sized([Message(250)] * 3000) == source._BATCH
    assert sized([Message(4096)] * 3000) == source._POLL_BYTES // 4096
    assert sized([Message(9_300_000)]) == 1


def test_tombstones_count_as_empty_values() -> None:
    assert sized([Message(None)] * 100) == source._BATCH
