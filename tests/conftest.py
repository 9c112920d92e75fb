import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The broker harness lives in scripts/ so the dev commands and the tests share one copy.
sys.path.insert(0, str(ROOT / "scripts"))


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    from tests.support.reconcile import TALLY

    if TALLY["reconciliations"]:
        terminalreporter.write_line(
            f"{TALLY['reconciliations']} full reconciliations passed: {TALLY['records']} stored "
            "records read back, each matching what was produced, none missing, none twice"
        )
