import pytest
from hypothesis import settings

# The real parts (broker, S3 server) and the factories every test folder shares.
pytest_plugins = ["tests.support.fixtures"]

# `--hypothesis-profile=soak` (scripts/soak) runs the model-based tests far longer.
settings.register_profile("ci", max_examples=300)
settings.register_profile("soak", max_examples=5000)
settings.load_profile("ci")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kill-trials", type=int, default=20, help="random SIGKILL trials (scripts/soak: more)"
    )
    parser.addoption(
        "--race-trials",
        type=int,
        default=10,
        help="rounds of 8 racing creates on one key, per store (scripts/soak: more)",
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker hands its tally to the controller, which adds them up."""
    from tests.support.reconcile import TALLY

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["tally"] = dict(TALLY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # type: ignore[no-untyped-def]
    from tests.support.reconcile import TALLY

    for name, count in getattr(node, "workeroutput", {}).get("tally", {}).items():
        TALLY[name] += count


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    from tests.support.reconcile import TALLY

    if TALLY["reconciliations"]:
        terminalreporter.write_line(
            f"{TALLY['reconciliations']} full reconciliations passed: {TALLY['records']} stored "
            "records read back, each matching what was produced, none missing, none twice"
        )
