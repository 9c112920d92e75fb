"""What is measured: the workloads (topic shape and size) and the Kafka Beat runs on each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Destination = Literal["local", "s3"]
Codec = Literal["gzip", "zstd"]
PayloadKind = Literal["log", "doc"]


@dataclass(frozen=True)
class Beat:
    destination: Destination
    codec: Codec

    @property
    def label(self) -> str:
        return f"beat-{self.destination}-{self.codec}"

    @property
    def title(self) -> str:
        where = "local dir" if self.destination == "local" else "S3 (moto)"
        return f"Kafka Beat → {where}, {self.codec}"


LOCAL_GZIP = Beat("local", "gzip")
LOCAL_ZSTD = Beat("local", "zstd")
S3_GZIP = Beat("s3", "gzip")
S3_ZSTD = Beat("s3", "zstd")
EVERY_BEAT = (LOCAL_GZIP, LOCAL_ZSTD, S3_GZIP, S3_ZSTD)


@dataclass(frozen=True)
class Workload:
    name: str
    payload: PayloadKind
    partitions: int
    records: int
    beats: tuple[Beat, ...]
    java: bool = True
    raw: bool = True
    crc_off: bool = False
    startup: bool = False
    purpose: str = ""

    @property
    def topic(self) -> str:
        # Size and shape in the name: a rerun on the same broker finds the topic already full.
        return f"kafka-beat-bench-{self.payload}-{self.partitions}p-{self.records}"

    def describe(self) -> str:
        what = "~250 B JSON log lines" if self.payload == "log" else "~4 KB JSON documents"
        parts = "partition" if self.partitions == 1 else "partitions"
        return f"{self.records:,} x {what}, {self.partitions} {parts}"


def workloads(scale: int) -> list[Workload]:
    """The issue's workloads; `scale` divides the record counts (for --quick)."""
    return [
        Workload(
            "logs-8p",
            "log",
            8,
            1_000_000 // scale,
            EVERY_BEAT,
            crc_off=True,
            startup=True,
            purpose="main figures",
        ),
        Workload("docs-8p", "doc", 8, 200_000 // scale, EVERY_BEAT, crc_off=True),
        Workload("logs-1p", "log", 1, 1_000_000 // scale, (LOCAL_ZSTD,)),
        Workload(
            "logs-64p",
            "log",
            64,
            1_000_000 // scale,
            (LOCAL_ZSTD,),
            purpose="memory: 8 vs 64 partitions",
        ),
        Workload(
            "logs-8p-4x",
            "log",
            8,
            4_000_000 // scale,
            (LOCAL_ZSTD,),
            java=False,
            raw=False,
            purpose="memory: 4x backlog",
        ),
    ]
