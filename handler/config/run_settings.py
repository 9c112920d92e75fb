"""The run settings: its budget, what it does when data was lost, its threads, logs, metrics
and the fault-injection hook of the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from handler import failpoints


class RunSettings(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    max_records: int | None = Field(default=None, gt=0)
    """Stop after this many records in all (default: no record budget)."""

    max_seconds: float | None = Field(default=None, gt=0)
    """Time budget of the run: consuming stops early enough for storing the open objects and
    the commit to fit within it (default: no time budget)."""

    stop_grace_seconds: float = Field(default=20.0, gt=0, le=3600)
    """When the run is asked to stop (SIGTERM, or Ctrl-C): the seconds it has from then to
    store its open objects, commit what is stored, leave the group and exit; what is not stored
    by then is dropped unstored, for the next run. Keep it below the scheduler's own grace
    before it kills (Kubernetes' terminationGracePeriodSeconds, 30 s by default; systemd's
    TimeoutStopSec). Not used on Lambda, whose remaining time bounds the run instead."""

    on_data_loss: Literal["fail", "skip"] = "fail"
    """When retention deleted records before they were read: fail (exit 1, nothing skipped),
    or skip (continue from the earliest record left and report the loss)."""

    upload_threads: int = Field(default=4, ge=0, le=64)
    """Threads storing sealed objects while the run goes on consuming (0: store on the
    consuming thread, one object at a time)."""

    lambda_margin_seconds: float = Field(default=20.0, ge=0)
    """In Lambda: seconds kept back from the remaining time for the last upload and commit."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Level of the JSON log lines on stderr."""

    dry_run: bool = False
    """Consume and encode, but store nothing and commit nothing; report what would be written."""

    metrics_file: Path | None = None
    """Write a Prometheus text file here after each run (node_exporter textfile collector),
    e.g. /var/lib/node_exporter/textfile/kafka_beat.prom."""

    failpoint: str | None = None
    """Fault-injection tests only: STEP[:N[:kill|stop|error|term]] fails (or stops) the run
    on purpose at that step (see handler/failpoints.py). Never set it in production."""

    @field_validator("failpoint")
    @classmethod
    def _failpoint(cls, value: str | None) -> str | None:
        if value:
            failpoints.parse(value)
        return value
