"""The configuration reference: every field of `Settings`, in declaration order, with its
variable, its type in words, its default and its docstring.

One source for `python -m handler --help` and for docs/configuration.md, both derived from the
field declarations (annotations, `Literal` choices, `Field(gt=...)` limits, attribute
docstrings), never from a table kept by hand. `python -m handler.config.reference` (run by
`scripts/config_reference`) writes the page; with `--check` it writes nothing and exits 1 with
a diff when the page differs from what it would write.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from handler.config.settings import Settings
from handler.config.values import env_name

PAGE = Path("docs/configuration.md")
# The flags `python -m handler` takes to override a setting for one run (handler/commands/cli.py;
# a test checks that the two lists agree).
OVERRIDE_FLAGS = (
    "--max-records",
    "--max-seconds",
    "--topics",
    "--partitions",
    "--destination",
    "--group-id",
    "--dry-run",
)


@dataclass(frozen=True)
class SettingReference:
    """One setting as a reader sees it."""

    field: str
    variable: str
    kind: str
    """The type in words, with its limits: `integer > 0`, `one of: gzip, zstd`, `secret`."""
    default: str
    """The default as it would be written in the environment, `none`, or `required`."""
    description: str
    """The field's docstring on one line."""


def settings_reference() -> list[SettingReference]:
    """Every setting, in the order `Settings` declares them."""
    return [
        SettingReference(
            field=name,
            variable=env_name(name),
            kind=_kind(name, info),
            default=_default(name, info),
            description=" ".join((info.description or "").split()),
        )
        for name, info in Settings.model_fields.items()
    ]


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(kept) == 1:
            return kept[0]
    return annotation


_WORDS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "secret",
}


def _kind(name: str, info: FieldInfo) -> str:
    annotation = _without_none(info.annotation)
    if get_origin(annotation) is Literal:
        return "one of: " + ", ".join(str(choice) for choice in get_args(annotation))
    if get_origin(annotation) is tuple:
        words = "comma-separated list"
    elif annotation is float and name.endswith("_seconds"):
        words = "seconds"
    elif annotation in _WORDS:
        words = _WORDS[annotation]
    else:
        raise TypeError(
            f"no words for the type of Settings.{name} ({annotation!r}): "
            "add them to handler/config/reference.py"
        )
    limits = _limits(info.metadata)
    if not limits:
        return words
    return f"{words}, {limits}" if limits[0].isalpha() else f"{words} {limits}"


def _limits(metadata: Sequence[Any]) -> str:
    bounds: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, annotated_types.MinLen) and item.min_length > 0:
            return "not empty" if item.min_length == 1 else f"at least {item.min_length} items"
        for kind in ("gt", "ge", "lt", "le"):
            if isinstance(item, getattr(annotated_types, kind.capitalize())):
                bounds[kind] = getattr(item, kind)
    if "ge" in bounds and "le" in bounds:
        return f"{_number(bounds['ge'])} to {_number(bounds['le'])}"
    signs = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return ", ".join(f"{signs[kind]} {_number(bound)}" for kind, bound in bounds.items())


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _default(name: str, info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None or value in ((), ""):
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = _number(value)
        if name.endswith("_bytes") and value >= 1024 * 1024 and value % (1024 * 1024) == 0:
            text += f" ({value // (1024 * 1024)} MiB)"
        return text
    return str(value)


# --- the page -------------------------------------------------------------------------------

_INTRO = """\
# Configuration

For anyone setting up a run: every setting Kafka Beat reads, with its type, default and meaning.

<!-- Generated by scripts/config_reference from handler/config/settings.py: edit the field
docstrings there, then run scripts/config_reference (a test fails while this page is stale). -->

Every setting is an environment variable, `KAFKA_BEAT_` followed by the field name in capitals;
a `.env` file in the working directory works too. `python -m handler --help` lists the same
settings, from the same declarations. A `KAFKA_BEAT_*` variable that is not a setting is an
error (with a "did you mean" hint), so a typo never goes unnoticed. The settings are read and
checked before anything connects: a bad value stops the run with exit code 2 and one line per
problem, naming the variable.

A setting of type *secret* can also come from a file, with `_FILE` after the variable's name
(`KAFKA_BEAT_SASL_PASSWORD_FILE=/run/secrets/kafka`), or from AWS Secrets Manager, with the
secret's ARN as the variable's value.

{flags}

"""

_OUTRO = """
Secrets are held as `SecretStr` and never appear in logs, the run summary, `--help` or error
messages; where each may come from and how that is tested is in
[Security: secrets](security.md#secrets).
"""


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: no column breaks, no accidental emphasis or tags."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
    text = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)
    return re.sub(r"(?<!\w)_", r"\\_", text)


def _code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def _default_cell(default: str) -> str:
    if default in ("required", "none"):
        return default
    value, _, note = default.partition(" (")
    return _code(value) + (f" ({note}" if note else "")


def page() -> str:
    """docs/configuration.md as the generator writes it."""
    flags = textwrap.fill(
        "Command-line flags override the environment for one run: "
        + ", ".join(f"`{flag}`" for flag in OVERRIDE_FLAGS)
        + ".",
        100,
    )
    rows = [
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for item in settings_reference():
        default = _default_cell(item.default)
        rows.append(
            f"| {_code(item.variable)} | {_cell(item.kind)} | {default} | "
            f"{_cell(item.description)} |"
        )
    return _INTRO.format(flags=flags) + "\n".join(rows) + "\n" + _OUTRO


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/config_reference",
        description=f"Write {PAGE} from the Settings declarations.",
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    parser.add_argument("--output", type=Path, default=PAGE, help=f"default: {PAGE}")
    arguments = parser.parse_args(argv)
    wanted = page()
    path: Path = arguments.output
    if not arguments.check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wanted, encoding="utf-8")
        return 0
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    if current == wanted:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        wanted.splitlines(keepends=True),
        fromfile=f"{path} (as it is)",
        tofile=f"{path} (as scripts/config_reference writes it)",
    )
    sys.stdout.writelines(diff)
    print(f"{path} is stale: run scripts/config_reference", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
