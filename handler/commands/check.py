"""`python -m handler check`: the whole path verified without consuming anything.

One line per step, PASS or FAIL with what to change; exit 0 only if every step passes, 3 if
a step failed because Kafka refused our identity or permissions (as a run exits), else 1.
Steps after a failure they depend on are reported as SKIP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handler.config.registry_settings import REGISTRY_FORMATS
from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.errors import AuthError, KafkaBeatError
from handler.format.native import chosen_encoder
from handler.kafka.clients import open_source
from handler.kafka.topics import select
from handler.stores import open_store
from handler.stores.create_only import overwrites_error, verify_create_only

_PROBE_SECONDS = 10.0


@dataclass(frozen=True)
class Step:
    name: str
    outcome: str  # PASS, FAIL or SKIP
    detail: str
    refused: bool = False
    """Failed with an AuthError: credentials, certificates or ACLs to change."""

    def line(self) -> str:
        return f"{self.outcome}  {self.name:<12} {self.detail}"


def _attempt(name: str, action: Callable[[], str]) -> Step:
    try:
        return Step(name, "PASS", action())
    except KafkaBeatError as exc:
        return Step(name, "FAIL", str(exc), isinstance(exc, AuthError))


def _encoder(settings: Settings) -> str:
    if {settings.key_format, settings.value_format} & set(REGISTRY_FORMATS):
        return "records encoded by the pure-Python encoder (it decodes the registry formats)"
    if chosen_encoder(settings.encoder) == "native":
        return "records encoded by the native encoder"
    if settings.encoder == "python":
        return "records encoded by the pure-Python encoder (KAFKA_BEAT_ENCODER=python)"
    return (
        "records encoded by the pure-Python encoder: the native one is not built here "
        "(run scripts/setup with Rust's cargo on PATH)"
    )


def _registry(settings: Settings) -> str:
    from handler.registry.client import Registry

    subjects = set(Registry(settings).subjects())
    # Confluent's default subject names (TopicNameStrategy): `<topic>-value`, `<topic>-key`.
    named = [
        f"{topic}-{field}"
        for topic in settings.topics
        for field, fmt in (("key", settings.key_format), ("value", settings.value_format))
        if fmt in REGISTRY_FORMATS
    ]
    found = [subject for subject in named if subject in subjects]
    missing = [subject for subject in named if subject not in subjects]
    detail = f"{settings.schema_registry_url} answered with these credentials"
    if found:
        detail += f"; subjects {found}"
    if missing:
        detail += f"; no subject {missing} yet (other subject names are read the same)"
    return detail


def run_checks(settings: Settings) -> list[Step]:
    steps = [Step("settings", "PASS", f"every KAFKA_BEAT_* value is valid; {_encoder(settings)}")]
    store = open_store(settings)

    def destination() -> str:
        store.check()
        # FAIL whatever KAFKA_BEAT_DELIVERY says: check reports what the store does, not what
        # a run would accept.
        if not verify_create_only(store):
            raise overwrites_error(store)
        return f"{store.describe()} is writable and refuses overwrites (create-only)"

    steps.append(_attempt("destination", destination))
    if {settings.key_format, settings.value_format} & set(REGISTRY_FORMATS):
        steps.append(_attempt("registry", lambda: _registry(settings)))
    try:
        source = open_source(settings)
    except KafkaBeatError as exc:
        failed = f"{exc} (client {settings.kafka_client})"
        steps.append(Step("brokers", "FAIL", failed, isinstance(exc, AuthError)))
        skipped = ("topics", "read", "group")
        return steps + [Step(name, "SKIP", "needs the brokers") for name in skipped]
    try:
        steps.append(
            Step(
                "brokers",
                "PASS",
                f"{','.join(settings.bootstrap_servers)} answered (client {source.client})",
            )
        )
        refs: list[PartitionRef] = []

        def topics() -> str:
            chosen = select(settings, source.topics())
            if settings.topic_pattern and not chosen.topics:
                raise KafkaBeatError(
                    f"KAFKA_BEAT_TOPIC_PATTERN {settings.topic_pattern!r} matches no topic"
                )
            if chosen.missing:
                raise KafkaBeatError(
                    f"topics {chosen.missing} do not exist; create them or fix KAFKA_BEAT_TOPICS"
                )
            refs.extend(chosen.partitions(source.partitions_of))
            return f"{len(chosen.topics)} topic(s), {len(refs)} partition(s)"

        steps.append(_attempt("topics", topics))
        if steps[-1].outcome != "PASS":
            return steps + [Step(n, "SKIP", "needs the topics") for n in ("read", "group")]

        def read() -> str:
            bounds = source.log_bounds(refs)
            with_data = {ref: start for ref, (start, end) in bounds.items() if end > start}
            if not with_data:
                return "offsets listed; every partition is empty, so no record was read"
            first = dict([next(iter(with_data.items()))])
            if not source.records_at(first, _PROBE_SECONDS):
                raise KafkaBeatError(
                    f"no record could be fetched from {next(iter(first))}; grant READ on the "
                    "topic to this principal"
                )
            return f"offsets listed for {len(bounds)} partition(s); a record was fetched"

        steps.append(_attempt("read", read))

        def group() -> str:
            committed = {ref: source.committed(ref) for ref in refs}
            known = sum(1 for offset in committed.values() if offset is not None)
            return f"group {settings.group_id!r}: {known}/{len(refs)} partition(s) committed"

        steps.append(_attempt("group", group))
    finally:
        source.close()
    return steps
