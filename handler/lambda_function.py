"""AWS Lambda entry: `handler.lambda_function.lambda_handler`.

The time budget is the invocation's remaining time minus `KAFKA_BEAT_LAMBDA_MARGIN_SECONDS`,
kept back for the last upload and commit. An event may narrow the run: `max_records`,
`partitions` (explicit fan-out, e.g. one scheduled invocation per shard) or `topics`.
A failed run raises, so the invocation fails visibly and the scheduler's retry policy applies.
"""

from __future__ import annotations

import traceback
import uuid
from typing import Any, Protocol

from handler.config.loading import load_settings
from handler.engine.budget import Budget
from handler.errors import ConfigError, KafkaBeatError
from handler.observe import logs
from handler.observe.metrics import emf_line

_EVENT_FIELDS = ("max_records", "max_seconds", "partitions", "topics")


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class RunFailed(KafkaBeatError):
    """The run ended with status failed; its summary is in the message and the logs."""


def lambda_handler(event: dict[str, Any] | None, context: LambdaContext) -> dict[str, Any]:
    overrides = {name: (event or {}).get(name) for name in _EVENT_FIELDS}
    settings = load_settings(overrides)
    run_id = uuid.uuid4().hex
    log = logs.configure(run_id, settings.log_level, settings.secrets())
    seconds = context.get_remaining_time_in_millis() / 1000 - settings.lambda_margin_seconds
    if settings.max_seconds is not None:
        seconds = min(seconds, settings.max_seconds)
    if seconds <= 1:
        raise ConfigError(
            f"the function leaves {seconds:.1f}s after the {settings.lambda_margin_seconds}s "
            "margin: raise the Lambda timeout or lower KAFKA_BEAT_LAMBDA_MARGIN_SECONDS"
        )
    from handler.engine.collector import run

    try:
        report = run(settings, Budget(settings.max_records, seconds), run_id=run_id)
    except Exception as exc:
        # The runtime logs what escapes with its traceback; never let a secret ride along.
        text = "".join(traceback.format_exception(exc))
        if logs.redact(text) != text:
            raise RunFailed(logs.redact(str(exc))) from None
        raise
    # Printed, not logged: CloudWatch reads an EMF document from the log stream as metrics.
    print(emf_line(report, settings.group_id), flush=True)
    summary = report.as_dict()
    log.info("run summary", extra={"summary": summary})
    if report.status != "ok":
        raise RunFailed(f"run {run_id} failed: {'; '.join(report.errors) or 'see the logs'}")
    return summary
