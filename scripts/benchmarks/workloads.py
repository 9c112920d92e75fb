"""What is measured: the workloads (topic shape and size), the Kafka Beat runs on each, and the
peers measured beside them (kcat piped into a compressor, Kafka Connect's FileStream sink)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Destination = Literal["local", "s3"]
Client = Literal["kafka-python", "confluent"]
Codec = Literal["gzip", "zstd"]
Encoder = Literal["native", "python"]
Mode = Literal["assign", "group"]
PayloadKind = Literal["log", "doc", "log-half-invalid", "big"]
"""log-half-invalid: the log lines with every second line's first byte replaced (not JSON);
big: JSON documents of 9.0-9.5 MB (arrays of log events), under the broker's 10 MiB limit."""


@dataclass(frozen=True)
class Beat:
    destination: Destination
    codec: Codec
    level: int | None = None
    """KAFKA_BEAT_COMPRESSION_LEVEL (None: the codec's default, gzip 6, zstd 3)."""
    latency_ms: int = 0
    """S3 only: every request through the latency proxy, held this long before moto."""
    format: Literal["jsonl", "parquet"] = "jsonl"
    """KAFKA_BEAT_FORMAT; for Parquet the codec compresses its pages."""
    client: Client = "kafka-python"
    """KAFKA_BEAT_KAFKA_CLIENT (confluent: the librdkafka extra)."""
    encoder: Encoder | None = None
    """KAFKA_BEAT_ENCODER (None: unset, auto, which is the native encoder where it is built)."""
    mode: Mode = "assign"
    """assign: KAFKA_BEAT_PARTITIONS, every partition of the topic, no group join; group:
    KAFKA_BEAT_TOPICS, joining a fresh group (a scheduled run's way)."""

    @property
    def label(self) -> str:
        level = f"-{self.level}" if self.level is not None else ""
        latency = f"-{self.latency_ms}ms" if self.latency_ms else ""
        parquet = "-parquet" if self.format == "parquet" else ""
        group = "-group" if self.mode == "group" else ""
        confluent = "-confluent" if self.client == "confluent" else ""
        python = "-python" if self.encoder == "python" else ""
        return (
            f"beat-{self.destination}{parquet}-{self.codec}{level}{latency}{group}{confluent}"
            f"{python}"
        )

    @property
    def title(self) -> str:
        where = "local dir" if self.destination == "local" else "S3 (moto)"
        latency = f" +{self.latency_ms} ms a request" if self.latency_ms else ""
        level = f" -{self.level}" if self.level is not None else ""
        parquet = "Parquet, " if self.format == "parquet" else ""
        client = " (confluent-kafka)" if self.client == "confluent" else ""
        group = ", group mode" if self.mode == "group" else ""
        python = ", Python encoder" if self.encoder == "python" else ""
        return f"Kafka Beat{client} → {where}{latency}, {parquet}{self.codec}{level}{group}{python}"

    @property
    def expected_encoder(self) -> Encoder:
        """The encoder a run's summary must name. Unset (auto), the native one: a row never
        measures the fallback unawares (handler.format.native.chosen_encoder; a unit test
        holds the two together)."""
        return self.encoder if self.encoder is not None else "native"


LOCAL_GZIP = Beat("local", "gzip")
LOCAL_ZSTD = Beat("local", "zstd")
S3_GZIP = Beat("s3", "gzip")
S3_ZSTD = Beat("s3", "zstd")
# The round trip of a real S3 endpoint, against "within 15 % of local".
S3_ZSTD_SLOW = Beat("s3", "zstd", latency_ms=20)
# gzip at level 1 next to the default 6: whether the level is what holds gzip back.
LOCAL_GZIP_FAST = Beat("local", "gzip", level=1)
# Parquet objects (zstd pages) beside JSON lines: throughput and stored bytes.
LOCAL_PARQUET_ZSTD = Beat("local", "zstd", format="parquet")
# The librdkafka client (KAFKA_BEAT_KAFKA_CLIENT=confluent) on the same topic.
LOCAL_ZSTD_CONFLUENT = Beat("local", "zstd", client="confluent")
LOCAL_GZIP_CONFLUENT = Beat("local", "gzip", client="confluent")
S3_ZSTD_CONFLUENT = Beat("s3", "zstd", client="confluent")
CONFLUENT_BEATS = (LOCAL_ZSTD_CONFLUENT, LOCAL_GZIP_CONFLUENT, S3_ZSTD_CONFLUENT)
# The pure-Python encoder beside the native one (every other row: auto, so native).
LOCAL_ZSTD_PYTHON = Beat("local", "zstd", encoder="python")
EVERY_BEAT = (LOCAL_GZIP, LOCAL_ZSTD, S3_GZIP, S3_ZSTD)
MAIN_BEATS = (
    *EVERY_BEAT,
    LOCAL_GZIP_FAST,
    S3_ZSTD_SLOW,
    LOCAL_PARQUET_ZSTD,
    LOCAL_ZSTD_PYTHON,
    *CONFLUENT_BEATS,
)
DEAD_LETTER_BEATS = (LOCAL_ZSTD, S3_ZSTD)
# A scheduled run's way: joining a group, on either client (logs-8p-200k, start-up).
LOCAL_ZSTD_GROUP = Beat("local", "zstd", mode="group")
LOCAL_ZSTD_GROUP_CONFLUENT = Beat("local", "zstd", mode="group", client="confluent")
GROUP_BEATS = (LOCAL_ZSTD_GROUP, LOCAL_ZSTD_GROUP_CONFLUENT)
BIG_BEATS = (LOCAL_ZSTD, LOCAL_ZSTD_CONFLUENT)


@dataclass(frozen=True)
class KcatPipe:
    """kcat reading every partition to its end, its lines piped into a compressor."""

    name: str
    """The compressor as the tables name it, e.g. "zstd -1"."""
    command: tuple[str, ...]
    extension: str

    @property
    def label(self) -> str:
        return f"kcat-{self.command[0]}"

    @property
    def title(self) -> str:
        # Escaped: a bare | would split the Markdown table's cell.
        return f"kcat \\| {self.name} (peer)"


# zstd -1 as the issue names it; gzip at its own default (-6), what a user would type.
KCAT_PIPES = (
    KcatPipe("zstd -1", ("zstd", "-1", "-q"), ".zst"),
    KcatPipe("gzip -6", ("gzip", "-6"), ".gz"),
)
CONNECT_LABEL = "connect-file"
CONNECT_TITLE = "Kafka Connect FileStream sink, uncompressed (peer)"
PEER_TITLES = {**{pipe.label: pipe.title for pipe in KCAT_PIPES}, CONNECT_LABEL: CONNECT_TITLE}


BIG_RECORD_LIMIT_BYTES = 10 * 1024 * 1024
"""The big records' topic takes records (and the producer sends requests) up to 10 MiB."""


@dataclass(frozen=True)
class Workload:
    name: str
    payload: PayloadKind
    partitions: int
    records: int
    beats: tuple[Beat, ...]
    java: bool = True
    raw: bool = True
    raw_confluent: bool = False
    """Also confluent-kafka's raw loop (programs/raw_confluent_consumer.py)."""
    crc_off: bool = False
    startup: bool = False
    purpose: str = ""
    value_format: str | None = None
    """KAFKA_BEAT_VALUE_FORMAT of its Kafka Beat runs (None: Kafka Beat's default, auto)."""
    default: bool = True
    """In the run without --workloads (the one README's table shows)."""
    codec_levels: bool = False
    """Also the codecs alone at each level, on the payload (programs/codec_levels.py)."""
    peers: bool = False
    """Also the peers: kcat into zstd and gzip, Kafka Connect's FileStream sink (--no-peers
    skips them)."""
    group: str = ""
    """Workloads of one group are measured together, their runs interleaved, so a ratio
    between them sees the same drift."""
    own_cost: bool = False
    """Also Kafka Beat's own CPU per record without a broker, on this workload's payload, with
    either encoder (benchmarks.own_cost)."""
    topic_configs: tuple[tuple[str, str], ...] = ()
    """Configs the topic is created with, e.g. max.message.bytes for records over 1 MiB."""
    producer_properties: tuple[str, ...] = ()
    """More key=value properties for ProducerPerformance filling the topic."""
    rss_each_run: bool = False
    """A peak RSS target for each of its runs, not only the largest of all."""
    rate_targets: bool = True
    """The issue's throughput and CPU targets apply to its rows (False: only memory is asked
    of it)."""

    @property
    def topic(self) -> str:
        # Size and shape in the name: a rerun on the same broker finds the topic already full.
        return f"kafka-beat-bench-{self.payload}-{self.partitions}p-{self.records}"

    def describe(self) -> str:
        what = {
            "log": "~250 B JSON log lines",
            "doc": "~4 KB JSON documents",
            "log-half-invalid": "~250 B log lines, about half not JSON",
            "big": "9.0-9.5 MB JSON documents",
        }[self.payload]
        parts = "partition" if self.partitions == 1 else "partitions"
        values = f", values read as {self.value_format}" if self.value_format else ""
        return f"{self.records:,} x {what}, {self.partitions} {parts}{values}"


def workloads(scale: int) -> list[Workload]:
    """The issue's workloads; `scale` divides the record counts (for --quick). Those with
    default=False run only when --workloads names them."""
    return [
        Workload(
            "logs-8p",
            "log",
            8,
            1_000_000 // scale,
            MAIN_BEATS,
            raw_confluent=True,
            crc_off=True,
            startup=True,
            purpose="main figures",
            codec_levels=True,
            peers=True,
            own_cost=True,
        ),
        Workload(
            "docs-8p",
            "doc",
            8,
            200_000 // scale,
            MAIN_BEATS,
            raw_confluent=True,
            crc_off=True,
            codec_levels=True,
            peers=True,
            own_cost=True,
        ),
        # The short scheduled run: whole process (spawn → exit), group mode, each client.
        Workload(
            "logs-8p-200k",
            "log",
            8,
            200_000 // scale,
            GROUP_BEATS,
            java=False,
            raw=False,
            purpose="start-up: a short scheduled run, group mode, whole process",
        ),
        # Records just under the broker's 10 MiB limit (the topic's max.message.bytes raised to
        # it): what each client holds of them. Not scaled by --quick: the peak grew with the
        # backlog (Kafka Beat on confluent-kafka: 444 MiB with 20 records, 791 MiB with 40).
        Workload(
            "big-2p",
            "big",
            2,
            40,
            BIG_BEATS,
            java=False,
            raw_confluent=True,
            purpose="memory: records of 9-9.5 MB",
            topic_configs=(("max.message.bytes", str(BIG_RECORD_LIMIT_BYTES)),),
            producer_properties=(f"max.request.size={BIG_RECORD_LIMIT_BYTES}",),
            rss_each_run=True,
            rate_targets=False,
        ),
        Workload("logs-1p", "log", 1, 1_000_000 // scale, (LOCAL_ZSTD,)),
        Workload(
            "logs-64p",
            "log",
            64,
            1_000_000 // scale,
            (LOCAL_ZSTD, LOCAL_PARQUET_ZSTD, LOCAL_ZSTD_CONFLUENT),
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
        # Dead letters (KAFKA_BEAT_VALUE_FORMAT=json): the same volume all valid and with about
        # half the records not JSON, measured together (`--workloads` only).
        Workload(
            "logs-2p-valid",
            "log",
            2,
            200_000 // scale,
            DEAD_LETTER_BEATS,
            java=False,
            raw=False,
            purpose="dead letters: the all-valid baseline",
            value_format="json",
            default=False,
            group="dead-letters",
        ),
        Workload(
            "logs-2p-half-invalid",
            "log-half-invalid",
            2,
            200_000 // scale,
            DEAD_LETTER_BEATS,
            java=False,
            raw=False,
            purpose="dead letters: about half the records invalid",
            value_format="json",
            default=False,
            group="dead-letters",
        ),
    ]
