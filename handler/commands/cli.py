"""The command line: `python -m handler` runs one collection and prints its summary.

Exit codes: 0 done, 1 the run failed (what succeeded is committed; nothing is lost),
2 configuration or usage error (nothing consumed), 3 Kafka, the store or AWS refused the
run's identity or permissions (nothing consumed past what was stored), 128 + N the run was
stopped by signal N and ended cleanly (143 SIGTERM, 130 SIGINT: `engine/stopping.py`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
import traceback
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from handler import __version__
from handler.config.loading import load_settings
from handler.config.reference import settings_reference
from handler.errors import (
    EXIT_AUTH,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_SIGNAL_BASE,
    EXIT_USAGE,
    KafkaBeatError,
)
from handler.observe import logs
from handler.observe.report import RunReport


def _settings_reference() -> str:
    """The settings as docs/configuration.md lists them (one source: config/reference.py)."""
    lines = ["settings (environment variables, or a .env file in the working directory):"]
    for item in settings_reference():
        default = item.default if item.default == "required" else f"default: {item.default}"
        lines.append(f"  {item.variable}  ({item.kind}; {default})")
        lines.extend(
            textwrap.wrap(
                item.description,
                94,
                initial_indent=" " * 6,
                subsequent_indent=" " * 6,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m handler",
        description="Kafka Beat: collect one consumer group's records from Kafka into object "
        "storage, up to a budget, and commit only what is stored. Other commands: "
        "`check` (verify the whole path), `status` (lag and retention headroom), "
        "`decode LOCATION` (print stored records back).",
        epilog=_settings_reference()
        + "\n\nexit codes: 0 done; 1 the run failed (what succeeded is committed); "
        "2 configuration or usage error; 3 Kafka, the store or AWS refused the run's identity "
        "or permissions; 143 (SIGTERM) or 130 (Ctrl-C) stopped when asked, what was stored "
        "is committed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kafka-beat {__version__}")
    parser.add_argument("--max-records", type=int, help="override KAFKA_BEAT_MAX_RECORDS")
    parser.add_argument("--max-seconds", type=float, help="override KAFKA_BEAT_MAX_SECONDS")
    parser.add_argument("--topics", help="override KAFKA_BEAT_TOPICS (comma-separated)")
    parser.add_argument("--partitions", help="override KAFKA_BEAT_PARTITIONS, e.g. auth:0-3")
    parser.add_argument("--destination", help="override KAFKA_BEAT_DESTINATION")
    parser.add_argument("--group-id", help="override KAFKA_BEAT_GROUP_ID")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=None,
        help="consume and encode, but store and commit nothing; report what would be written",
    )
    return parser


def emit_report(report: RunReport) -> None:
    line = orjson.dumps(report.as_dict(), option=orjson.OPT_APPEND_NEWLINE).decode()
    sys.stdout.write(logs.redact(line))
    sys.stdout.flush()


def _redacting_excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    """Unexpected errors keep their traceback, minus any secret it happens to carry."""
    sys.stderr.write(logs.redact("".join(traceback.format_exception(kind, value, tb))))


def _fail(exc: KafkaBeatError) -> int:
    print(f"kafka-beat: {logs.redact(str(exc))}", file=sys.stderr)
    return exc.exit_code


def _storage_parser(command: str, description: str, location: str) -> argparse.ArgumentParser:
    """A command that reads storage, not Kafka: a location, and the store's endpoint."""
    parser = argparse.ArgumentParser(prog=f"python -m handler {command}", description=description)
    parser.add_argument("location", help=location)
    parser.add_argument(
        "--endpoint-url",
        help="endpoint of an S3-compatible store or GCS emulator; for az://, the account URL",
    )
    return parser


def _decode(argv: Sequence[str]) -> int:
    parser = _storage_parser(
        "decode",
        "Print the records stored in an object, a directory or a bucket prefix.",
        "a file, a directory, or s3://, gs://, az:// with a key or prefix",
    )
    parser.add_argument("--raw", action="store_true", help="print each value's bytes instead")
    arguments = parser.parse_args(argv)
    from handler.commands.decode import write

    try:
        write(arguments.location, sys.stdout.buffer, arguments.raw, arguments.endpoint_url)
    except KafkaBeatError as exc:
        return _fail(exc)
    sys.stdout.flush()
    return EXIT_OK


def _check(argv: Sequence[str]) -> int:
    argparse.ArgumentParser(
        prog="python -m handler check",
        description="Verify settings, destination, brokers, topics, reading and the group, "
        "without consuming. Exit 0 only if every step passes.",
    ).parse_args(argv)
    try:
        settings = load_settings()
    except KafkaBeatError as exc:
        print(f"FAIL  settings     {exc}")
        return EXIT_USAGE
    from handler.commands.check import run_checks

    steps = run_checks(settings)
    for step in steps:
        print(step.line(), flush=True)
    if all(step.outcome == "PASS" for step in steps):
        return EXIT_OK
    return EXIT_AUTH if any(step.refused for step in steps) else EXIT_RUN_FAILED


def _status(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handler status",
        description="Per partition: committed and end offsets, lag, age of the oldest "
        "unconsumed record, retention headroom, last object stored. Reads only.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document")
    arguments = parser.parse_args(argv)
    try:
        settings = load_settings()
        from handler.commands.status import gather

        report = gather(settings)
    except KafkaBeatError as exc:
        return _fail(exc)
    if arguments.json:
        sys.stdout.buffer.write(orjson.dumps(report.as_dict(), option=orjson.OPT_APPEND_NEWLINE))
    else:
        print(report.table())
    return EXIT_OK


def _verify(argv: Sequence[str]) -> int:
    parser = _storage_parser(
        "verify",
        "Audit stored objects per partition: hashes, chain gaps and overlaps. "
        "Exit 0 only if everything holds.",
        "a directory, or s3://, gs://, az:// with a prefix",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document")
    arguments = parser.parse_args(argv)
    from handler.commands.verify import audit, report

    try:
        audits = audit(arguments.location, arguments.endpoint_url)
    except KafkaBeatError as exc:
        return _fail(exc)
    if arguments.json:
        sys.stdout.buffer.write(orjson.dumps(report(audits), option=orjson.OPT_APPEND_NEWLINE))
    else:
        for item in audits:
            print(item.line())
        if not audits:
            print(f"no Kafka Beat objects under {arguments.location}")
    return EXIT_OK if all(item.healthy for item in audits) else EXIT_RUN_FAILED


_COMMANDS = {"decode": _decode, "check": _check, "status": _status, "verify": _verify}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run stops cleanly instead): no traceback
        print("kafka-beat: interrupted", file=sys.stderr)
        return EXIT_SIGNAL_BASE + signal.SIGINT


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in _COMMANDS:
        return _COMMANDS[argv[0]](argv[1:])
    arguments = _parser().parse_args(argv)
    overrides: dict[str, Any] = {
        "max_records": arguments.max_records,
        "max_seconds": arguments.max_seconds,
        "topics": arguments.topics,
        "partitions": arguments.partitions,
        "destination": arguments.destination,
        "group_id": arguments.group_id,
        "dry_run": arguments.dry_run,
    }
    try:
        settings = load_settings(overrides)
    except KafkaBeatError as exc:
        print(f"kafka-beat: {exc}", file=sys.stderr)
        return EXIT_USAGE
    run_id = uuid.uuid4().hex
    logs.configure(run_id, settings.log_level, settings.secrets())
    sys.excepthook = _redacting_excepthook
    from handler.engine.budget import Budget
    from handler.engine.collector import run
    from handler.engine.stopping import StopSignals, exit_now

    budget = Budget(settings.max_records, settings.max_seconds)
    with StopSignals(budget, settings.stop_grace_seconds) as stop:
        try:
            report = run(settings, budget, run_id=run_id)
        except KafkaBeatError as exc:
            code = _fail(exc)
        else:
            emit_report(report)
            code = _exit_code(report, stop.received)
        if stop.received is not None:
            exit_now(code)  # not waiting for upload threads the grace left running
    return code


def _exit_code(report: RunReport, stopped_by: int | None) -> int:
    """A failure of the data says more than a stop, and keeps its code."""
    if report.refused:
        return EXIT_AUTH
    if report.status != "ok":
        return EXIT_RUN_FAILED
    if stopped_by is not None and report.stop_reason == "signal":
        return EXIT_SIGNAL_BASE + stopped_by
    return EXIT_OK
