"""The README stays a front door: short, with the two commands, and its table of common
settings agrees with the settings themselves."""

from __future__ import annotations

import re

from handler.config.reference import settings_reference
from tests.unit.docs.markdown import README, prose

MAX_LINES = 250


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, (
        f"README.md has {len(lines)} lines, at most {MAX_LINES}: move detail into docs/"
    )


def test_readme_has_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    for command in ("./scripts/demo", "./scripts/test"):
        assert re.search(rf"^{re.escape(command)}\b", text, re.MULTILINE), (
            f"README.md must keep the command {command} at the start of a line (CI runs it)"
        )


def test_readme_settings_table_has_the_real_defaults() -> None:
    defaults = {item.variable: item.default for item in settings_reference()}
    rows = re.findall(r"^\| `(KAFKA_BEAT_\w+)` \| ([^|]+) \|", prose(README), re.MULTILINE)
    assert rows, "README.md has no settings table (| `KAFKA_BEAT_…` | default | meaning |)"
    wrong = [
        f"{name}: README says {shown.strip()!r}, the settings {defaults[name]!r}"
        for name, shown in rows
        if shown.replace("`", "").strip() != defaults.get(name, shown.replace("`", "").strip())
    ]
    assert not wrong, "README.md's settings table disagrees:\n  " + "\n  ".join(wrong)
