"""`python -m handler status`: how far the group is behind, read-only.

Per partition: the committed offset, the end offset, the lag, the age of the oldest record not
yet consumed, the retention headroom (how far the committed offset is from the log start, in
records and in time — when it nears zero, data is about to expire unread) and the last object
stored (from the storage checkpoint). Nothing is consumed, committed or written.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from handler.chain.checkpoints import read_checkpoint
from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.kafka.clients import open_source
from handler.kafka.topics import select
from handler.stores import open_store

_RECORD_SECONDS = 10.0


@dataclass
class PartitionLag:
    topic: str
    partition: int
    committed: int | None
    log_start: int
    end: int
    lag: int
    oldest_unconsumed_age_seconds: float | None
    retention_headroom_records: int
    retention_headroom_seconds: float | None
    last_object: str | None
    stored_up_to: int | None


@dataclass
class StatusReport:
    group: str
    destination: str
    partitions: list[PartitionLag] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        headrooms = [p.retention_headroom_records for p in self.partitions]
        ages = [p.oldest_unconsumed_age_seconds for p in self.partitions]
        return {
            "lag": sum(p.lag for p in self.partitions),
            "oldest_unconsumed_age_seconds": max((a for a in ages if a is not None), default=None),
            "min_retention_headroom_records": min(headrooms, default=None),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "totals": self.totals()}

    def table(self) -> str:
        header = (
            f"{'topic':<24} {'part':>4} {'committed':>10} {'end':>10} {'lag':>8} "
            f"{'oldest age':>11} {'headroom':>9} {'headroom t':>11}  last object"
        )
        rows = [header]
        for p in self.partitions:
            rows.append(
                f"{p.topic[:24]:<24} {p.partition:>4} {_show(p.committed):>10} {p.end:>10} "
                f"{p.lag:>8} {_age(p.oldest_unconsumed_age_seconds):>11} "
                f"{p.retention_headroom_records:>9} {_age(p.retention_headroom_seconds):>11}  "
                f"{p.last_object or '-'}"
            )
        totals = self.totals()
        rows.append(
            f"total lag {totals['lag']}, oldest unconsumed "
            f"{_age(totals['oldest_unconsumed_age_seconds'])}, least headroom "
            f"{_show(totals['min_retention_headroom_records'])} records"
        )
        return "\n".join(rows)


def _show(value: int | None) -> str:
    return "-" if value is None else str(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def gather(settings: Settings) -> StatusReport:
    store = open_store(settings)
    source = open_source(settings)
    try:
        refs = select(settings, source.topics()).partitions(source.partitions_of)
        bounds = source.log_bounds(refs)
        committed = {ref: source.committed(ref) for ref in refs}
        start_of: dict[PartitionRef, int] = {}
        for ref in refs:
            offset = committed[ref]
            start_of[ref] = bounds[ref][0] if offset is None else offset
        wanted: dict[PartitionRef, int] = {}
        for ref in refs:
            log_start, end = bounds[ref]
            if max(start_of[ref], log_start) < end:
                wanted[ref] = max(start_of[ref], log_start)
        oldest = source.records_at(wanted, _RECORD_SECONDS) if wanted else {}
        first = {}
        if wanted:
            at_log_start = {ref: bounds[ref][0] for ref in wanted}
            first = source.records_at(at_log_start, _RECORD_SECONDS)
        now_ms = time.time() * 1000
        report = StatusReport(settings.group_id, store.describe())
        for ref in refs:
            log_start, end = bounds[ref]
            position = start_of[ref]
            record = oldest.get(ref)
            start_record = first.get(ref)
            headroom_time = None
            if record is not None and start_record is not None:
                headroom_time = max(0.0, (record.timestamp - start_record.timestamp) / 1000)
            checkpoint = read_checkpoint(store, ref.topic, ref.partition)
            report.partitions.append(
                PartitionLag(
                    topic=ref.topic,
                    partition=ref.partition,
                    committed=committed[ref],
                    log_start=log_start,
                    end=end,
                    lag=max(0, end - max(position, log_start)),
                    oldest_unconsumed_age_seconds=(
                        None if record is None else round((now_ms - record.timestamp) / 1000, 1)
                    ),
                    retention_headroom_records=max(0, position - log_start),
                    retention_headroom_seconds=headroom_time,
                    last_object=checkpoint.key if checkpoint else None,
                    stored_up_to=checkpoint.next if checkpoint else None,
                )
            )
        return report
    finally:
        source.close()
