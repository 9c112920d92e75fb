"""docs/configuration.md is what the generator writes from `Settings`, and `--help` says the
same: every variable, default and description appears in both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handler.commands import cli
from handler.config import reference
from handler.config.reference import settings_reference
from tests.unit.docs.markdown import ROOT


def test_configuration_page_is_current() -> None:
    page = (ROOT / reference.PAGE).read_text(encoding="utf-8")
    assert page == reference.page(), (
        "docs/configuration.md is stale: run scripts/config_reference "
        "(scripts/config_reference --check shows the difference)"
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


def _page_rows() -> dict[str, str]:
    """Each table row of the page as plain text (code marks and escapes removed), by variable."""
    rows = {}
    for line in (ROOT / reference.PAGE).read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\| `(KAFKA_BEAT_\w+)` \|", line)
        if found:
            text = line.replace("&lt;", "<").replace("`", "")
            rows[found.group(1)] = _flat(re.sub(r"\\(.)", r"\1", text))
    return rows


def test_help_and_page_say_the_same() -> None:
    help_text = _flat(cli._parser().format_help())
    rows = _page_rows()
    problems = []
    for item in settings_reference():
        if not item.description:
            problems.append(f"Settings.{item.field} has no docstring")
        if item.variable not in help_text:
            problems.append(f"--help lacks {item.variable}")
        row = rows.get(item.variable)
        if row is None:
            problems.append(f"docs/configuration.md has no row for {item.variable}")
        for text, what in ((item.default, "default"), (item.description, "description")):
            if text not in help_text:
                problems.append(f"--help lacks the {what} of {item.variable}: {text!r}")
            if row is not None and text not in row:
                problems.append(f"the page's {item.variable} row lacks its {what}: {text!r}")
    assert not problems, "\n".join(problems)


def test_override_flags_are_the_parser_s() -> None:
    flags = {
        option
        for action in cli._parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option not in ("--help", "--version")
    }
    assert flags == set(reference.OVERRIDE_FLAGS)


def test_check_reports_a_stale_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "configuration.md"
    assert reference.main(["--output", str(page)]) == 0
    assert reference.main(["--check", "--output", str(page)]) == 0
    page.write_text(page.read_text(encoding="utf-8").replace("Kafka brokers", "Brokers"))
    assert reference.main(["--check", "--output", str(page)]) == 1
    out, err = capsys.readouterr()
    assert "-| `KAFKA_BEAT_BOOTSTRAP_SERVERS`" in out
    assert "+| `KAFKA_BEAT_BOOTSTRAP_SERVERS`" in out
    assert "run scripts/config_reference" in err
