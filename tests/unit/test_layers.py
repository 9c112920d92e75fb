"""The package's shape: imports point one way (commands → engine → chain → format, stores,
kafka → config), with no cycle, and no module grows past 400 lines.

Every import of a `handler` module counts, the ones inside functions too: a lazy import is
still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "handler"
# What every stage may use: the exception hierarchy, the record type, the fault hooks, logging
# and the version.
SHARED = {
    "handler",
    "handler.errors",
    "handler.record",
    "handler.failpoints",
    "handler.observe.logs",
}
# Each stage, with the stages it may import (besides itself and the shared modules).
BELOW = {
    "config": set(),
    "format": {"config"},
    "stores": {"config", "format"},
    "kafka": {"config"},
    "registry": {"config", "format"},
    "chain": {"config", "format", "stores", "registry"},
    "observe": {"config", "format", "stores", "chain"},
    "engine": {"config", "format", "stores", "kafka", "chain", "observe"},
    "commands": {"config", "format", "stores", "kafka", "chain", "observe", "engine", "registry"},
}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> set[str]:
    """The handler modules `name` imports (a package's own `__init__` when it names one)."""
    path = MODULES[name]
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports(name) for name in MODULES}


def stage(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in BELOW else None


def test_the_import_graph_is_read() -> None:
    # A guard for the checks below: they pass vacuously on an empty graph.
    assert "handler.chain.writer" in GRAPH
    assert "handler.chain.storing" in GRAPH["handler.chain.writer"]
    assert "handler.kafka.kafka_python.source" in GRAPH["handler.kafka.clients"]


@pytest.mark.parametrize("name", sorted(name for name in MODULES if stage(name)))
def test_a_stage_imports_only_the_stages_below_it(name: str) -> None:
    own = stage(name)
    assert own is not None
    allowed = BELOW[own] | {own}
    wrong = sorted(
        module for module in GRAPH[name] if module not in SHARED and stage(module) not in allowed
    )
    assert not wrong, f"{name} ({own}/) imports {wrong}; it may import {sorted(allowed)}"


def test_the_shared_modules_import_no_stage_but_config() -> None:
    for name in SHARED - {"handler"}:
        above = {module for module in GRAPH[name] if stage(module) not in (None, "config")}
        assert not above, f"{name} is shared by every stage but imports {sorted(above)}"


def test_no_import_cycle() -> None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = [*visiting[visiting.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        visiting.append(name)
        for module in sorted(GRAPH[name]):
            visit(module)
        visiting.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines: split it"
