"""What the README and docs/ name exists: every `KAFKA_BEAT_*` variable is a setting (or the
`_FILE` variant of a secret), every `handler/…`, `scripts/…`, `tests/…` or `infra/…` path in
code exists, and every failpoint step is listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handler.config.settings import SECRET_FIELDS, Settings
from handler.config.values import env_name
from handler.failpoints import STEPS
from tests.unit.docs.markdown import DOCS, ROOT, code_spans, manual, prose, split_fences

SETTINGS = {env_name(name) for name in Settings.model_fields}
FILE_VARIANTS = {f"{env_name(name)}_FILE" for name in SECRET_FIELDS}
_VARIABLE = re.compile(r"KAFKA_BEAT_[A-Z0-9_]*")
_PATH = re.compile(r"^(?:\./)?((?:handler|scripts|tests|infra)/[^\s|,;:)'\"]*)")


def _unknown_variable(name: str) -> bool:
    if name.endswith("_"):  # a family, as in `KAFKA_BEAT_SSL_*`
        return not any(known.startswith(name) for known in SETTINGS)
    return name not in SETTINGS and name not in FILE_VARIANTS


@pytest.mark.parametrize("page", manual(), ids=lambda page: str(page.relative_to(ROOT)))
def test_every_variable_is_a_setting(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    unknown = sorted(
        {match.group() for match in _VARIABLE.finditer(text) if _unknown_variable(match.group())}
    )
    assert not unknown, f"{page.relative_to(ROOT)} names variables that are no setting: {unknown}"


def _named_paths(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    words = [word for span in code_spans(prose(page)) for word in span.split()]
    words += [word for line in split_fences(text)[1] for word in line.split()]
    return {found.group(1).rstrip(".") for word in words if (found := _PATH.match(word))}


@pytest.mark.parametrize("page", manual(), ids=lambda page: str(page.relative_to(ROOT)))
def test_every_named_path_exists(page: Path) -> None:
    missing = sorted(path for path in _named_paths(page) if not any(ROOT.glob(path)))
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_every_failpoint_step_is_listed() -> None:
    spans = set(code_spans(prose(DOCS / "development.md")))
    missing = [step for step in STEPS if step not in spans]
    assert not missing, f"docs/development.md lists no failpoint step {missing}"


def test_the_code_map_names_every_module() -> None:
    """Every module of handler/ has its row in development.md's code map."""
    page = (DOCS / "development.md").read_text()
    modules = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "handler").rglob("*.py")
        if path.name != "__init__.py"
    )
    missing = [module for module in modules if f"| `{module}` |" not in page]
    assert not missing, f"docs/development.md's code map lacks {missing}"
