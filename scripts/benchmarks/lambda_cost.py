"""What a run would cost on AWS Lambda, from the medians' CPU and wall seconds."""

from __future__ import annotations

from typing import Any

# Lambda x86 pricing the issue fixes; 1,769 MB is where a function gets one full vCPU.
LAMBDA_MEMORY_MB = 1769
LAMBDA_PRICE_PER_GB_SECOND = 0.0000166667
LAMBDA_PRICE_PER_REQUEST = 0.20 / 1_000_000


def cost(
    cpu_seconds_per_million: float, wall_seconds_per_million: float, per_call: int
) -> dict[str, float]:
    """Lambda cost per million events at 1,769 MB (one vCPU): billed seconds taken as the CPU
    seconds (a CPU-bound single-threaded run), and as the wall seconds measured here."""
    gb = LAMBDA_MEMORY_MB / 1024
    requests = LAMBDA_PRICE_PER_REQUEST * 1_000_000 / max(1, per_call)
    gb_seconds = cpu_seconds_per_million * gb
    wall_gb_seconds = wall_seconds_per_million * gb
    return {
        "gb_seconds_per_million": round(gb_seconds, 2),
        "usd_per_million": round(gb_seconds * LAMBDA_PRICE_PER_GB_SECOND + requests, 6),
        "wall_gb_seconds_per_million": round(wall_gb_seconds, 2),
        "wall_usd_per_million": round(wall_gb_seconds * LAMBDA_PRICE_PER_GB_SECOND + requests, 6),
    }


def cost_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, flow in results["workloads"].items():
        for label, run in flow["runs"].items():
            m = run["median"]
            if not label.startswith("beat-") or "cpu_seconds_per_million" not in m:
                continue
            wall_per_million = m["process_seconds"] * 1_000_000 / max(1, m["records"])
            rows.append(
                {
                    "workload": name,
                    "run": label,
                    "cpu_seconds_per_million": m["cpu_seconds_per_million"],
                    **cost(m["cpu_seconds_per_million"], wall_per_million, int(m["records"])),
                }
            )
    return rows
