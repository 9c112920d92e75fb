"""The command line: parse the flags, run the workloads, write the JSON and the Markdown."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import REPO_ROOT, progress
from . import __doc__ as package_doc
from .figures import targets
from .lambda_cost import cost_rows
from .machine import Watch, machine
from .markdown import markdown
from .measuring import measure
from .peers import Peers
from .processes import Launcher
from .runs import Bench
from .sections import SECTIONS
from .services import broker, latency_proxy, moto_server
from .topics import fill
from .workloads import S3_ZSTD_SLOW, Workload, workloads

DEFAULT_OUT_DIR = REPO_ROOT / ".dev" / "bench"  # .dev/ is git-ignored


def write(results: dict[str, Any], json_path: Path | None, markdown_path: Path | None) -> str:
    results["targets"] = [t.as_dict() for t in targets(results)]
    results["cost"] = cost_rows(results)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    text = markdown(results)
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(text, encoding="utf-8")
    return text


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [w.name for w in workloads(1)]
    default = [w.name for w in workloads(1) if w.default]
    others = [name for name in names if name not in default]
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=package_doc.split("\n\n")[0] if package_doc else None,
        epilog=f"workloads: {', '.join(default)} (the default run); with --workloads also "
        f"{', '.join(others)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke test: 1/10 of the records, 1 repetition"
    )
    parser.add_argument("--repetitions", type=int, help="per measurement (default 3; --quick 1)")
    parser.add_argument(
        "--repetitions-for",
        action="append",
        default=[],
        metavar="WORKLOAD=N",
        help="another count for one workload, e.g. logs-8p-4x=1 (repeatable)",
    )
    parser.add_argument("--workloads", help=f"comma-separated subset of: {','.join(names)}")
    parser.add_argument("--bootstrap", help="HOST:PORT of a running broker (else start one)")
    parser.add_argument("--no-s3", action="store_true", help="skip the moto S3 runs")
    parser.add_argument(
        "--no-peers",
        action="store_true",
        help="skip the peers' rows (kcat | zstd, kcat | gzip, Kafka Connect's FileStream sink)",
    )
    parser.add_argument(
        "--no-latency",
        action="store_true",
        help=f"skip the S3 run behind the +{S3_ZSTD_SLOW.latency_ms} ms latency proxy",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="on a shared machine: before each run, wait up to this long for other processes "
        "to go quiet (under 0.25 cores for 2 s)",
    )
    parser.add_argument("--json", type=Path, help=f"results (default {DEFAULT_OUT_DIR}/…)")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown table here")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: print the tables of an earlier run's JSON (targets recomputed)",
    )
    args = parser.parse_args(argv)
    chosen = default if not args.workloads else [n.strip() for n in args.workloads.split(",")]
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {names}")
    args.selected = chosen
    if args.repetitions is None:
        args.repetitions = 1 if args.quick else 3
    args.counts = {}
    for item in args.repetitions_for:
        name, _, count = item.partition("=")
        if name not in names or not count.isdigit() or int(count) < 1:
            parser.error(f"--repetitions-for {item}: write WORKLOAD=N with N ≥ 1")
        args.counts[name] = int(count)
    if args.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    return args


def _groups(selected: list[Workload]) -> list[list[Workload]]:
    """The selected workloads in their order, those of one group together (measured as one)."""
    groups: list[list[Workload]] = []
    for workload in selected:
        same = [g for g in groups if workload.group and g[0].group == workload.group]
        if same:
            same[0].append(workload)
        else:
            groups.append([workload])
    return groups


def _sections(flow: dict[str, Any]) -> list[dict[str, Any]]:
    return [flow[name] for name in SECTIONS if name in flow]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        earlier = json.loads(args.render.read_text(encoding="utf-8"))
        print(write(earlier, args.json, args.markdown))
        return 0
    selected = [w for w in workloads(10 if args.quick else 1) if w.name in args.selected]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = args.json or DEFAULT_OUT_DIR / f"bench-{stamp}.json"
    markdown_path = args.markdown or json_path.with_suffix(".md")
    given = " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "arguments": f" {given}" if given else "",
        "repetitions": args.repetitions,
        "quick": args.quick,
        "machine": machine(),
        "workloads": {},
    }
    needs_s3 = not args.no_s3 and any(b.destination == "s3" for w in selected for b in w.beats)
    delay_ms = 0 if args.no_latency else max(b.latency_ms for w in selected for b in w.beats)
    started = time.monotonic()
    work_dir = Path(tempfile.mkdtemp(prefix="kafka-beat-bench-"))
    launcher = Launcher(work_dir)
    try:
        with (
            broker(args.bootstrap) as (bootstrap, broker_pid),
            moto_server(needs_s3, work_dir) as (endpoint, moto_pid),
            latency_proxy(endpoint, delay_ms, work_dir) as (slow_endpoint, proxy_pid),
        ):
            expected = {w.topic: fill(bootstrap, w, work_dir, launcher) for w in selected}
            pids = [(os.getpid(), False), (launcher.pid, True)]
            services = (broker_pid, moto_pid, proxy_pid)
            pids += [(pid, False) for pid in services if pid is not None]
            bench = Bench(
                bootstrap, work_dir, endpoint, expected, launcher, Watch(pids), slow_endpoint
            )
            peers = None if args.no_peers else Peers(bench)
            for group in _groups(selected):
                for workload in group:
                    progress(f"== {workload.name}: {workload.describe()} ({workload.topic})")
                counts = {w.name: args.counts.get(w.name, args.repetitions) for w in group}
                results["workloads"].update(measure(bench, peers, group, counts, args.settle))
                results["skipped"] = peers.skipped if peers else []
                write(results, json_path, markdown_path)  # partial results survive a crash
    finally:
        launcher.close()
        shutil.rmtree(work_dir, ignore_errors=True)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.monotonic() - started, 1)
    text = write(results, json_path, markdown_path)
    print(text)
    progress(f"JSON: {json_path}\nMarkdown: {markdown_path}\n({results['seconds']:.0f} s)")
    failed = any(
        s["error"]
        for flow in results["workloads"].values()
        for run in [*flow["runs"].values(), *_sections(flow)]
        for s in run["samples"]
    )
    return 1 if failed else 0
