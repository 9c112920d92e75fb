import pytest

from handler.engine.assignment import StartDecision, decide_start


@pytest.mark.parametrize(
    ("committed", "checkpoint", "log_start", "end", "reset", "expected"),
    [
        (40, None, 0, 100, "earliest", StartDecision(40, 40, 0)),  # the usual case
        (None, None, 5, 100, "earliest", StartDecision(5, None, 0)),  # a new group
        (None, None, 5, 100, "latest", StartDecision(100, None, 0)),
        (None, 60, 5, 100, "latest", StartDecision(60, 60, 0)),  # offsets expired: storage
        (40, 60, 0, 100, "earliest", StartDecision(60, 60, 0)),  # commit lost after store
        (60, 40, 0, 100, "earliest", StartDecision(60, 60, 0)),  # a stale checkpoint
        (10, None, 50, 100, "earliest", StartDecision(50, 10, 40)),  # retention passed it
        (10, 30, 50, 100, "earliest", StartDecision(50, 30, 20)),  # only 30..49 are lost
        (120, None, 0, 100, "earliest", StartDecision(120, 120, 0)),  # nothing to read
    ],
)
def test_where_a_partition_starts(committed, checkpoint, log_start, end, reset, expected) -> None:
    assert decide_start(committed, checkpoint, log_start, end, reset) == expected
