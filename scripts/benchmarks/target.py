"""A target: one figure drawn from the medians, its goal, and whether it is met."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Median = Callable[[str, str, str], float | None]
"""The median of one figure: (workload, run label, figure) → value, None where not measured."""


@dataclass
class Target:
    name: str
    measured: float | None
    goal: str
    ok: bool | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.name,
            "measured": self.measured,
            "goal": self.goal,
            "ok": self.ok,
            "note": self.note,
        }


def ratio_of(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def at_least(name: str, value: float | None, goal: float, note: str = "") -> Target:
    return Target(name, value, f"≥ {goal:g}", None if value is None else value >= goal, note)


def at_most(name: str, value: float | None, goal: float, note: str = "") -> Target:
    return Target(name, value, f"≤ {goal:g}", None if value is None else value <= goal, note)


def shown(name: str, value: float | None, note: str = "") -> Target:
    """A figure with no goal: where Kafka Beat stands."""
    return Target(name, value, "—", None, note)


def median_of(flows: dict[str, Any]) -> Median:
    def median(workload: str, label: str, key: str) -> float | None:
        value = flows.get(workload, {}).get("runs", {}).get(label, {}).get("median", {}).get(key)
        return float(value) if value is not None else None

    return median
