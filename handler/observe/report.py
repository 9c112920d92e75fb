"""The run summary: one JSON line on stdout when the run ends."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PartitionStatus = Literal[
    "done", "budget", "failed", "data_loss", "revoked", "commit_failed", "commit_refused", "invalid"
]
RunStatus = Literal["ok", "failed"]


@dataclass
class PartitionReport:
    topic: str
    partition: int
    start_offset: int
    """Chain position the run started from (the committed offset, or where it reset to)."""
    end_offset: int
    """Chain position the run ended at: the next run starts here."""
    end_offset_at_start: int
    """The partition's end offset when the run began (the run reads no further)."""
    committed: int | None
    """Offset committed to the group by this run (None: nothing new to commit)."""
    records: int = 0
    dead_letters: int = 0
    objects: list[str] = field(default_factory=list)
    adopted_records: int = 0
    """Records found already stored at this chain position (by a crashed or parallel run)."""
    lost_offsets: int = 0
    """Offsets retention deleted before they were read."""
    lag: int = 0
    """Offsets left below the end offset seen at start."""
    retention_headroom: int = 0
    """Offsets between the log start and where the next run starts: at 0, the next record
    retention deletes is one the group has not stored yet."""
    log_start_offset: int = 0
    status: PartitionStatus = "done"
    error: str | None = None


@dataclass
class RunReport:
    run_id: str
    destination: str
    status: RunStatus = "ok"
    kafka_client: str = "kafka-python"
    """The client that read Kafka (KAFKA_BEAT_KAFKA_CLIENT)."""
    encoder: str = "python"
    """What encoded the records: native (the batch encoder) or python (KAFKA_BEAT_ENCODER)."""
    dry_run: bool = False
    refused: bool = False
    """Kafka or AWS refused the run's identity or permissions (exit 3)."""
    stop_reason: str = "caught_up"
    records: int = 0
    bytes_in: int = 0
    """Kafka payload bytes (keys, values and header values) consumed."""
    bytes_encoded: int = 0
    """JSON-lines bytes before compression."""
    bytes_out: int = 0
    """Bytes stored (compressed)."""
    objects: int = 0
    dead_letters: int = 0
    """Invalid records stored under the dead-letter prefix."""
    manifest: str | None = None
    """Key of the run's manifest (objects, offset ranges, counts and hashes)."""
    missing_topics: list[str] = field(default_factory=list)
    """Listed topics the cluster lacks (the run fails), or, with a pattern, topics collected
    before that no longer exist (reported only)."""
    counts: dict[str, int] = field(default_factory=dict)
    """Odd cases seen: `invalid <field>: <error>`, tombstones, late_records (placed in an
    object of a later hour), unknown_time (timestamp outside 1970-2100), time_field_missing,
    `parquet_unfit <column>` (a value that did not fit its typed column, left null)."""
    duration_seconds: float = 0.0
    partitions: list[PartitionReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lag"] = sum(part.lag for part in self.partitions)
        data["lost_offsets"] = sum(part.lost_offsets for part in self.partitions)
        return data
