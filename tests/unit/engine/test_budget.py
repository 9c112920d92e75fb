from handler.engine.budget import Budget


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_budget_never_exhausts() -> None:
    budget = Budget(clock=FakeClock())
    budget.take(10**9)
    assert budget.exhausted() is None
    assert budget.records_left() is None and budget.seconds_left() is None


def test_record_budget() -> None:
    budget = Budget(max_records=5, clock=FakeClock())
    budget.take(4)
    assert budget.records_left() == 1 and budget.exhausted() is None
    budget.take(1)
    assert budget.exhausted() == "max_records"


def test_time_budget_uses_the_injected_clock() -> None:
    clock = FakeClock()
    budget = Budget(max_seconds=30, clock=clock)
    clock.now += 29.5
    assert budget.seconds_left() == 0.5 and budget.exhausted() is None
    clock.now += 1
    assert budget.exhausted() == "max_seconds"


def test_the_time_kept_for_the_tail_ends_consuming_earlier() -> None:
    clock = FakeClock()
    budget = Budget(max_seconds=30, clock=clock)
    budget.tail_seconds = 4.0  # the open objects' uploads and the commit, as estimated
    clock.now += 25.5
    assert budget.seconds_left() == 0.5 and budget.exhausted() is None
    clock.now += 0.5
    assert budget.exhausted() == "max_seconds"


def test_a_stop_ends_the_budget_at_once_and_its_grace_runs_on_the_clock() -> None:
    clock = FakeClock()
    budget = Budget(max_records=1000, max_seconds=600, clock=clock)
    budget.take(10)
    assert not budget.stopping and budget.grace_left() is None

    budget.stop(20)

    assert budget.stopping and budget.exhausted() == "signal"
    assert budget.records_left() == 0 and budget.seconds_left() == 0.0
    clock.now += 15
    assert budget.grace_left() == 5
    budget.stop(20)  # a second stop keeps the first grace
    assert budget.grace_left() == 5
    clock.now += 6
    assert budget.grace_left() == 0.0 and budget.exhausted() == "signal"


def test_a_stop_ends_a_budget_without_limits_too() -> None:
    budget = Budget(clock=FakeClock())
    budget.stop(3)
    assert budget.exhausted() == "signal"
    assert budget.records_left() == 0 and budget.seconds_left() == 0.0
    assert budget.grace_left() == 3
