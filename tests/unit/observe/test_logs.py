"""The log lines a run writes: JSON on stderr, and no expected client chatter at WARNING."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import orjson
import pytest

from handler.observe import logs

Configure = Callable[[str], io.StringIO]


@pytest.fixture
def configured() -> Iterator[Callable[[str], io.StringIO]]:
    """`logs.configure` at a level, its stderr handler writing to a buffer instead."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def configure(log_level: str) -> io.StringIO:
        logs.configure("run-1", log_level)
        [handler] = root.handlers
        captured = io.StringIO()
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(captured)
        return captured

    yield configure
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(captured: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in captured.getvalue().splitlines()]


def client_warnings() -> None:
    # Exactly as kafka-python 3 words them, from its own loggers.
    logging.getLogger("kafka.coordinator.base").warning(
        "Marking the coordinator dead (node %s) for group %s: %s.",
        "coordinator-1",
        "kafka-beat-demo",
        "[Error 16] NotCoordinatorError",
    )
    logging.getLogger("kafka.net.selector").warning(
        "Task <Task poll> ran for 0.115s (>0.100s threshold). It is blocking the event loop "
        "-- likely a tight sync loop inside a coroutine. Other pollers will time out."
    )


def test_expected_client_chatter_is_not_a_warning(configured: Configure) -> None:
    stderr = configured("INFO")
    client_warnings()
    logging.getLogger("kafka.conn").warning("Connect attempt to broker failed: refused")
    written = lines(stderr)
    assert [line["message"] for line in written] == ["Connect attempt to broker failed: refused"]
    assert written[0]["level"] == "WARNING"


def test_at_debug_the_chatter_is_shown_as_debug(configured: Configure) -> None:
    stderr = configured("DEBUG")
    client_warnings()
    written = lines(stderr)
    assert [line["level"] for line in written] == ["DEBUG", "DEBUG"]
    assert "Marking the coordinator dead" in str(written[0]["message"])


def test_our_own_warnings_are_never_demoted(configured: Configure) -> None:
    stderr = configured("INFO")
    logs.get_logger().warning("Marking the coordinator dead is what kafka-python says")
    assert [line["level"] for line in lines(stderr)] == ["WARNING"]
