#!/usr/bin/env python3
"""Throughput, CPU, memory and start-up of Kafka Beat against its ceilings, side by side.

One command starts a local broker (or uses one), fills the benchmark topics once, and then, per
workload and repetition, measures in separate processes:

- the Java ceiling: Apache Kafka's ConsumerPerformance from the broker's own jars;
- the raw ceiling: kafka-python's bare consume loop, with Kafka Beat's consumer settings, in
  assign mode up to the end offsets seen at start (CRC checks on, and off for comparison);
- Kafka Beat: `python -m handler` full runs (fetch, encode, compress, store, commit) to a local
  directory and to a moto S3 server, gzip and zstd, explicit partitions, a fresh group and a
  fresh destination prefix each time so every run reads the whole backlog;
- start-up: import time, and spawn to the first object stored with a one-record budget.

The figures are medians over the repetitions; the Markdown goes to stdout (and --markdown), all
samples to JSON (--json). Repetitions interleave the runs so drift on a shared machine hits
every column alike.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

SCRIPTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS_DIR.parent
sys.path.insert(0, str(SCRIPTS_DIR))
sys.path.insert(0, str(REPO_ROOT))

import kafka_broker  # noqa: E402

DEFAULT_OUT_DIR = REPO_ROOT / ".dev" / "bench"  # .dev/ is git-ignored
BUCKET = "kafka-beat-bench"
S3_REGION = "us-east-1"
MB = 1_000_000
MIB = 1024 * 1024

# Lambda x86 pricing the issue fixes; 1,769 MB is where a function gets one full vCPU.
LAMBDA_MEMORY_MB = 1769
LAMBDA_PRICE_PER_GB_SECOND = 0.0000166667
LAMBDA_PRICE_PER_REQUEST = 0.20 / 1_000_000

# Targets from the issue.
TARGET_ZSTD_VS_RAW = 0.8
TARGET_GZIP_VS_RAW = 0.6
TARGET_S3_VS_LOCAL = 0.85
TARGET_PEAK_RSS_MIB = 256.0
TARGET_RSS_SPREAD = 0.10
TARGET_STARTUP_SECONDS = 1.5
TARGET_CRC_ON_VS_OFF = 0.9

Destination = Literal["local", "s3"]
Codec = Literal["gzip", "zstd"]
PayloadKind = Literal["log", "doc"]


class BenchError(RuntimeError):
    """A step of the benchmark itself failed (not a figure missing its target)."""


# --------------------------------------------------------------------------------------------
# Workloads


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


# --------------------------------------------------------------------------------------------
# Payloads: realistic enough to exercise JSON parsing and compression the way real logs do

_LEVELS = ("INFO", "WARN", "ERROR", "DEBUG")
_SERVICES = ("auth", "api-gateway", "billing", "search", "checkout", "profile", "vpn", "mail")
_ACTIONS = (
    "login",
    "logout",
    "token_refresh",
    "password_change",
    "mfa_challenge",
    "session_expired",
    "access_denied",
    "file_download",
)
_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari",
    "curl/8.5.0",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5",
)
_EVENT_NAMES = ("GetObject", "PutObject", "AssumeRole", "DescribeInstances", "ListBuckets")
_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
_EPOCH = datetime(2026, 11, 25, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def log_line(rng: random.Random, index: int) -> str:
    """One application/security log event of about 250 bytes."""
    user = f"user{rng.randrange(20_000):05d}"
    src_ip = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    action = rng.choice(_ACTIONS)
    event: dict[str, Any] = {
        "@timestamp": _iso(_EPOCH + timedelta(milliseconds=index * 41 + rng.randrange(40))),
        "level": rng.choices(_LEVELS, weights=(70, 15, 5, 10))[0],
        "service": rng.choice(_SERVICES),
        "host": f"ip-10-0-{rng.randrange(16)}-{rng.randrange(1, 255)}",
        "user": user,
        "src_ip": src_ip,
        "action": action,
        "outcome": rng.choice(("success", "success", "success", "failure")),
        "latency_ms": rng.randrange(1, 1500),
    }
    room = 250 + rng.randrange(-20, 21) - len(_compact(event)) - len(',"message":""')
    message = f"{action} for {user} from {src_ip} via {rng.choice(_AGENTS)}"
    event["message"] = message[: max(16, room)].rstrip()
    return _compact(event)


def document(rng: random.Random, index: int) -> str:
    """One CloudTrail-like audit record of about 4 KB."""
    account = f"{rng.randrange(10**11, 10**12)}"
    session = f"session-{rng.getrandbits(32):08x}"
    moment = _iso(_EPOCH + timedelta(milliseconds=index * 97))
    bucket = f"data-{rng.choice(_SERVICES)}-{account[-4:]}"
    doc: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROA{rng.getrandbits(64):016X}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{rng.choice(_SERVICES)}-role/{session}",
            "accountId": account,
            "accessKeyId": f"ASIA{rng.getrandbits(64):016X}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": f"AROA{rng.getrandbits(64):016X}",
                    "arn": f"arn:aws:iam::{account}:role/{rng.choice(_SERVICES)}-role",
                    "accountId": account,
                    "userName": f"{rng.choice(_SERVICES)}-role",
                },
                "attributes": {"creationDate": moment, "mfaAuthenticated": "false"},
            },
        },
        "eventTime": moment,
        "eventSource": "s3.amazonaws.com",
        "eventName": rng.choice(_EVENT_NAMES),
        "awsRegion": rng.choice(_REGIONS),
        "sourceIPAddress": ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
        "userAgent": rng.choice(_AGENTS),
        "requestParameters": {
            "bucketName": bucket,
            "Host": f"{bucket}.s3.amazonaws.com",
            "key": f"logs/{rng.randrange(2020, 2027)}/{rng.getrandbits(48):012x}.json.gz",
        },
        "responseElements": None,
        "additionalEventData": {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "bytesTransferredOut": rng.randrange(100, 10**7),
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": f"{rng.getrandbits(256):064x}",
        },
        "requestID": f"{rng.getrandbits(64):016X}",
        "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "readOnly": rng.random() < 0.8,
        "resources": [],
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": account,
        "eventCategory": "Data",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{bucket}.s3.amazonaws.com",
        },
    }
    target = 4096 + rng.randrange(-200, 201)
    resources: list[dict[str, Any]] = doc["resources"]
    while len(_compact(doc)) < target:
        resources.append(
            {
                "type": "AWS::S3::Object",
                "ARN": f"arn:aws:s3:::{bucket}/{rng.getrandbits(96):024x}/part-{len(resources)}",
                "accountId": account,
            }
        )
    return _compact(doc)


def payload_file(kind: PayloadKind, records: int, directory: Path) -> Path:
    """ProducerPerformance draws each record at random from this file's lines. Enough distinct
    lines that repeats rarely fall inside a compressor's window (zstd -3 looks back ~2 MB)."""
    distinct = min(records, 100_000 if kind == "log" else 10_000)
    path = directory / f"payloads-{kind}-{distinct}.txt"
    if not path.exists():
        rng = random.Random(20261125)
        make = log_line if kind == "log" else document
        path.write_text("\n".join(make(rng, i) for i in range(distinct)), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Child processes: each measured by the kernel (os.wait4) for CPU time and peak RSS


@dataclass
class Child:
    returncode: int
    spawned_at: float
    """Wall clock at spawn (time.time()), to place the child's own log times."""
    seconds: float
    """Spawn to exit, measured by this process."""
    cpu_seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str

    def tail(self, lines: int = 15) -> str:
        return "\n".join((self.stderr.strip().splitlines() or ["(no stderr)"])[-lines:])


# The launcher spawns and reaps every measured process. Not this process: a child's peak RSS
# (ru_maxrss) starts at the high-water mark of the address space it was forked from, so a child
# of this process, which grows to hundreds of MB generating payloads, would report at least
# that. The launcher stays a bare interpreter, a floor of about 12 MiB.
LAUNCHER = r"""
import json, os, signal, subprocess, sys, threading, time

for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        spawned_at = time.time()
        started = time.perf_counter()
        child = subprocess.Popen(
            job["command"], env=job["env"], cwd=job["cwd"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
        )
        reaped = threading.Event()

        def overtime():
            if not reaped.is_set():
                try:
                    os.kill(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        timer = threading.Timer(job["timeout"], overtime)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            reaped.set()
            timer.cancel()
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps({
        "returncode": child.returncode,
        "spawned_at": spawned_at,
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_kib": usage.ru_maxrss,
    }), flush=True)
"""


class Launcher:
    """A small helper process that runs one command at a time and reports the kernel's
    figures for it (os.wait4): CPU seconds and peak RSS of exactly that process."""

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        self.pid: int
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self._process.pid

    def run(self, command: Sequence[str], env: dict[str, str], cwd: Path, timeout: float) -> Child:
        out = self._work_dir / "child.out"
        err = self._work_dir / "child.err"
        job = {
            "command": list(command),
            "env": env,
            "cwd": str(cwd),
            "timeout": timeout,
            "stdout": str(out),
            "stderr": str(err),
        }
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(job) + "\n")
            self._process.stdin.flush()
            reply = self._process.stdout.readline()
        if not reply:
            raise BenchError(f"the launcher died (exit {self._process.poll()})")
        result = json.loads(reply)
        return Child(
            returncode=result["returncode"],
            spawned_at=result["spawned_at"],
            seconds=result["seconds"],
            cpu_seconds=result["cpu_seconds"],
            peak_rss_mib=result["peak_rss_kib"] / 1024,  # KiB on Linux
            stdout=out.read_text(encoding="utf-8", errors="replace"),
            stderr=err.read_text(encoding="utf-8", errors="replace"),
        )

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            # A run still going when the benchmark was interrupted: stop the launcher; the run
            # ends on its own once the broker is gone.
            self._process.kill()
            self._process.wait()


# -- Interference: the machine is shared (tests of other work may run), so every sample records
# the CPU that processes outside the benchmark used while it ran.

_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = values
    return (user + nice + system + irq + softirq) / _TICK


def _cpu_seconds_of(pid: int, with_children: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # of reaped children: the measured runs
    return ticks / _TICK


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (a broker given with --bootstrap), if visible."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(proc.name)
    return None


@dataclass
class Watch:
    """The benchmark's own processes: this one, the launcher (with the runs it reaped), the
    broker and moto. Machine CPU beyond theirs is someone else's."""

    pids: list[tuple[int, bool]]

    def snapshot(self) -> tuple[float, float, float]:
        own = sum(_cpu_seconds_of(pid, children) for pid, children in self.pids)
        return time.perf_counter(), _machine_busy_seconds(), own

    def settle(self, limit: float, quiet_cores: float = 0.25) -> float:
        """Wait, up to `limit` seconds, for a 2-second window in which other processes use
        less than `quiet_cores`; returns the seconds waited."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            before = self.snapshot()
            time.sleep(2.0)
            if self.others_cores(before, self.snapshot()) < quiet_cores:
                break
        return time.perf_counter() - started

    @staticmethod
    def others_cores(
        before: tuple[float, float, float], after: tuple[float, float, float]
    ) -> float:
        wall = after[0] - before[0]
        others = (after[1] - before[1]) - (after[2] - before[2])
        return round(max(0.0, others) / wall, 3) if wall > 0 else 0.0


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every child: no stray KAFKA_BEAT_* (a run refuses unknown ones),
    this checkout's code, and credentials that only the local moto server accepts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_BEAT_")}
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": S3_REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------------------------
# Filling the topics

_FILL_TIMEOUT_SECONDS = 1800.0


def topic_records(bootstrap: str, workload: Workload) -> int:
    """Records the topic holds now, creating it (with the workload's partitions) if missing."""
    from kafka.admin import KafkaAdminClient
    from kafka.consumer import KafkaConsumer
    from kafka.errors import TopicAlreadyExistsError
    from kafka.structs import TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            {workload.topic: {"num_partitions": workload.partitions, "replication_factor": 1}},
            wait_for_metadata=True,
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = consumer.partitions_for_topic(workload.topic) or set()
        if len(partitions) != workload.partitions:
            raise BenchError(
                f"topic {workload.topic} has {len(partitions)} partitions, not "
                f"{workload.partitions}; delete it and run again"
            )
        tps = [TopicPartition(workload.topic, p) for p in sorted(partitions)]
        ends = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        consumer.close()


def fill(bootstrap: str, workload: Workload, work_dir: Path, launcher: Launcher) -> int:
    """Bring the topic up to the workload's record count with Java's ProducerPerformance
    (kafka-python would take minutes for the 4M backlog); returns the records it holds."""
    have = topic_records(bootstrap, workload)
    missing = workload.records - have
    if missing <= 0:
        return have
    payloads = payload_file(workload.payload, workload.records, work_dir)
    progress(f"filling {workload.topic}: {missing:,} records from {payloads.name}")
    command = [
        kafka_broker.java_executable(),
        "-Xmx1g",
        "-cp",
        kafka_broker.java_classpath(),
        "org.apache.kafka.tools.ProducerPerformance",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        workload.topic,
        "--num-records",
        str(missing),
        "--throughput",
        "-1",
        "--payload-file",
        str(payloads),
        "--command-property",
        # Large batches with linger, uncompressed: a busy shipper's batches, and the consumer
        # figures then don't depend on which decompression libraries kafka-python has.
        "acks=1",
        "linger.ms=20",
        "batch.size=262144",
        "compression.type=none",
        "buffer.memory=134217728",
    ]
    child = launcher.run(command, child_env(), work_dir, _FILL_TIMEOUT_SECONDS)
    if child.returncode != 0:
        raise BenchError(f"ProducerPerformance failed ({child.returncode}):\n{child.stdout}")
    summary = [line for line in child.stdout.splitlines() if "records sent" in line]
    progress(f"  {summary[-1].strip() if summary else 'done'} ({child.seconds:.0f} s)")
    have = topic_records(bootstrap, workload)
    if have < workload.records:
        raise BenchError(f"{workload.topic} holds {have:,} records after filling")
    return have


# --------------------------------------------------------------------------------------------
# The measured runs

# Kafka Beat's consumer, as handler/source.py builds it (settings at their defaults: 30 s
# Kafka timeout, 10 s session) with its poll loop's timeout, minus all the processing.
RAW_CONSUMER = r"""
import json, sys, time
import kafka
from kafka.structs import TopicPartition

config = json.loads(sys.argv[1])
# Exactly the options a run uses (handler.kafka.options.consumer_options), CRC checking aside.
from handler.config.settings import Settings
from handler.kafka.options import consumer_options

options = consumer_options(Settings(
    bootstrap_servers=(config["bootstrap"],), group_id=config["group"],
    topics=(config["topic"],), client_id="kafka-beat-bench-raw",
))
consumer = kafka.KafkaConsumer(**options, check_crcs=config["check_crcs"])
started = time.perf_counter()
tps = [TopicPartition(config["topic"], p) for p in range(config["partitions"])]
consumer.assign(tps)
ends = consumer.end_offsets(tps)
starts = consumer.beginning_offsets(tps)
for tp in tps:
    consumer.seek(tp, starts[tp])
pending = {tp for tp in tps if ends[tp] > starts[tp]}
records = payload = 0
first = None
while pending:
    for tp, batch in consumer.poll(timeout_ms=500).items():
        if first is None:
            first = time.perf_counter()
        records += len(batch)
        payload += sum([len(r.value) for r in batch])
        if batch[-1].offset + 1 >= ends[tp]:
            pending.discard(tp)
            consumer.pause(tp)
finished = time.perf_counter()
consumer.close(autocommit=False)
print(json.dumps({
    "records": records,
    "payload_bytes": payload,
    "seconds": finished - started,
    "first_fetch_seconds": (first or finished) - started,
}))
"""


@dataclass
class Sample:
    """One measured process; `figures` holds the numbers the tables and JSON use."""

    label: str
    repetition: int
    figures: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def _process_figures(child: Child, records: int) -> dict[str, float]:
    per_million = 1_000_000 / records if records else 0.0
    return {
        "process_seconds": round(child.seconds, 3),
        "cpu_seconds": round(child.cpu_seconds, 3),
        "cpu_seconds_per_million": round(child.cpu_seconds * per_million, 3),
        "peak_rss_mib": round(child.peak_rss_mib, 1),
    }


def _rates(records: int, payload_bytes: int, seconds: float) -> dict[str, float]:
    return {
        "records": records,
        "payload_bytes": payload_bytes,
        "seconds": round(seconds, 3),
        "records_per_second": round(records / seconds, 1) if seconds else 0.0,
        "mb_per_second": round(payload_bytes / MB / seconds, 3) if seconds else 0.0,
    }


class Bench:
    def __init__(
        self,
        bootstrap: str,
        work_dir: Path,
        s3_endpoint: str | None,
        expected: dict[str, int],
        launcher: Launcher,
        watch: Watch,
    ) -> None:
        self.launcher = launcher
        self.watch = watch
        self.bootstrap = bootstrap
        self.work_dir = work_dir
        self.s3_endpoint = s3_endpoint
        self.expected = expected
        self.cwd = work_dir / "cwd"  # empty: no .env file a run could pick up
        self.cwd.mkdir(exist_ok=True)
        self._s3: Any = None

    # -- ceilings -----------------------------------------------------------------------------

    def java(self, workload: Workload, repetition: int) -> Sample:
        sample = Sample("java", repetition)
        records = self.expected[workload.topic]
        command = [
            kafka_broker.java_executable(),
            "-Xmx1g",
            "-cp",
            kafka_broker.java_classpath(),
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            self.bootstrap,
            "--topic",
            workload.topic,
            "--num-records",
            str(records),
            "--group",
            f"bench-java-{uuid.uuid4().hex[:12]}",
            "--timeout",
            "30000",
            "--command-property",
            "isolation.level=read_committed",
        ]
        child = self.launcher.run(command, child_env(), self.cwd, _timeout(records))
        stats = _consumer_performance(child.stdout)
        if child.returncode != 0 or stats is None:
            sample.error = f"ConsumerPerformance exit {child.returncode}: {child.stdout[-800:]}"
            return sample
        consumed = int(stats["data.consumed.in.nMsg"])
        # The tool's MB are MiB; its fetch figures leave out the group join, which the other
        # consumers (assign mode) don't have.
        sample.figures = {
            "records": consumed,
            "payload_bytes": round(stats["data.consumed.in.MB"] * MIB),
            "seconds": round(stats["fetch.time.ms"] / 1000, 3),
            "records_per_second": stats["fetch.nMsg.sec"],
            "mb_per_second": round(stats["fetch.MB.sec"] * MIB / MB, 3),
            "records_per_second_with_join": stats["nMsg.sec"],
            "rebalance_ms": stats["rebalance.time.ms"],
            **_process_figures(child, consumed),
        }
        if consumed < records:
            sample.error = f"ConsumerPerformance read {consumed:,} of {records:,} records"
        return sample

    def raw(self, workload: Workload, repetition: int, check_crcs: bool) -> Sample:
        sample = Sample("raw-crc-on" if check_crcs else "raw-crc-off", repetition)
        config = {
            "bootstrap": self.bootstrap,
            "group": f"bench-raw-{uuid.uuid4().hex[:12]}",
            "topic": workload.topic,
            "partitions": workload.partitions,
            "check_crcs": check_crcs,
        }
        records = self.expected[workload.topic]
        command = [sys.executable, "-c", RAW_CONSUMER, json.dumps(config)]
        child = self.launcher.run(command, child_env(), self.cwd, _timeout(records))
        try:
            result = json.loads(child.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            sample.error = f"raw consumer exit {child.returncode}:\n{child.tail()}"
            return sample
        sample.figures = {
            **_rates(result["records"], result["payload_bytes"], result["seconds"]),
            "first_fetch_seconds": round(result["first_fetch_seconds"], 3),
            **_process_figures(child, result["records"]),
        }
        if result["records"] != records:
            sample.error = f"read {result['records']:,} of {records:,} records"
        return sample

    # -- Kafka Beat ----------------------------------------------------------------------------

    def beat_env(self, workload: Workload, beat: Beat, **extra: str) -> tuple[dict[str, str], str]:
        run = uuid.uuid4().hex[:12]
        last = workload.partitions - 1
        settings = {
            "KAFKA_BEAT_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_BEAT_GROUP_ID": f"bench-beat-{run}",
            "KAFKA_BEAT_PARTITIONS": f"{workload.topic}:0-{last}",
            "KAFKA_BEAT_COMPRESSION": beat.codec,
        }
        if beat.destination == "s3":
            if self.s3_endpoint is None:
                raise BenchError("an S3 run without the moto server")
            settings["KAFKA_BEAT_DESTINATION"] = f"s3://{BUCKET}/{run}"
            settings["KAFKA_BEAT_S3_ENDPOINT_URL"] = self.s3_endpoint
            settings["KAFKA_BEAT_S3_REGION"] = S3_REGION
        else:
            settings["KAFKA_BEAT_DESTINATION"] = str(self.work_dir / "out" / run)
        settings.update(extra)
        return child_env(settings), run

    def beat(self, workload: Workload, beat: Beat, repetition: int) -> Sample:
        sample = Sample(beat.label, repetition)
        records = self.expected[workload.topic]
        env, run = self.beat_env(workload, beat)
        try:
            child = self.launcher.run(
                [sys.executable, "-m", "handler"], env, self.cwd, _timeout(records)
            )
        finally:
            self.clean(beat.destination, run)
        summary = _summary(child)
        if summary is None:
            sample.error = f"kafka beat exit {child.returncode}:\n{child.tail()}"
            return sample
        sample.figures = {
            **_rates(summary["records"], summary["bytes_in"], summary["duration_seconds"]),
            "bytes_out": summary["bytes_out"],
            "objects": summary["objects"],
            "compression_ratio": round(summary["bytes_encoded"] / max(1, summary["bytes_out"]), 2),
            "process_records_per_second": round(summary["records"] / child.seconds, 1),
            **_process_figures(child, summary["records"]),
        }
        if child.returncode != 0 or summary["status"] != "ok":
            sample.error = f"run {summary['status']}: {summary.get('errors')}"
        elif summary["records"] != records:
            sample.error = f"stored {summary['records']:,} of {records:,} records"
        return sample

    def startup(self, workload: Workload, repetition: int) -> Sample:
        """Import time, and spawn → first object stored with a one-record budget: an upper
        bound of spawn → first record fetched (it adds encoding and storing one record)."""
        sample = Sample("startup", repetition)
        figures: dict[str, float] = {}
        bare = self.launcher.run([sys.executable, "-c", "pass"], child_env(), self.cwd, 60)
        figures["interpreter_seconds"] = round(bare.seconds, 3)
        beats = [LOCAL_ZSTD] + ([S3_ZSTD] if self.s3_endpoint else [])
        for beat in beats:
            where = beat.destination
            for profile in (False, True):
                env, run = self.beat_env(workload, beat, KAFKA_BEAT_MAX_RECORDS="1")
                command = [sys.executable, *(["-X", "importtime"] if profile else [])]
                try:
                    child = self.launcher.run([*command, "-m", "handler"], env, self.cwd, 120)
                finally:
                    self.clean(beat.destination, run)
                if profile:
                    figures[f"import_seconds_{where}"] = round(_import_seconds(child.stderr), 3)
                    continue
                first = _first_object_time(child.stderr)
                summary = _summary(child)
                if first is None or summary is None or summary["records"] != 1:
                    sample.error = f"start-up run ({where}) exit {child.returncode}:\n" + (
                        child.tail()
                    )
                    return sample
                figures[f"first_object_seconds_{where}"] = round(first - child.spawned_at, 3)
                figures[f"exit_seconds_{where}"] = round(child.seconds, 3)
                figures[f"peak_rss_mib_{where}"] = round(child.peak_rss_mib, 1)
        sample.figures = figures
        return sample

    def clean(self, destination: Destination, run: str) -> None:
        """Drop a run's objects (untimed): the next run starts from an empty prefix anyway,
        and keeping gigabytes in moto's memory would slow the machine for the later runs."""
        if destination == "local":
            shutil.rmtree(self.work_dir / "out" / run, ignore_errors=True)
            return
        client = self.s3()
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=BUCKET, Prefix=f"{run}/"):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys, "Quiet": True})

    def s3(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client(
                "s3",
                endpoint_url=self.s3_endpoint,
                region_name=S3_REGION,
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )
        return self._s3


def _timeout(records: int) -> float:
    return max(300.0, records / 2_000)


def _summary(child: Child) -> dict[str, Any] | None:
    """The run summary: the last line Kafka Beat prints on stdout."""
    for line in reversed(child.stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            summary = json.loads(line)
            if isinstance(summary, dict) and "records" in summary:
                return summary
    return None


def _first_object_time(stderr: str) -> float | None:
    """Wall-clock time of the first "stored object" log line (millisecond resolution)."""
    for line in stderr.splitlines():
        if '"stored object"' not in line:
            continue
        with contextlib.suppress(ValueError, KeyError):
            return datetime.fromisoformat(json.loads(line)["time"]).timestamp()
    return None


def _import_seconds(stderr: str) -> float:
    """Total of the top-level cumulative times that `python -X importtime` prints (nested
    imports are indented and already counted in their parent's cumulative time)."""
    total_us = 0
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            total_us += int(parts[1])
    return total_us / 1e6


def _consumer_performance(stdout: str) -> dict[str, float] | None:
    """The header and value line ConsumerPerformance prints, as numbers by column name."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    for index, line in enumerate(lines[:-1]):
        if line.startswith("start.time"):
            names = [name.strip() for name in line.split(",")]
            values = [value.strip() for value in lines[index + 1].split(",")]
            numbers: dict[str, float] = {}
            for name, value in zip(names, values, strict=False):
                with contextlib.suppress(ValueError):
                    numbers[name] = float(value)
            wanted = {"data.consumed.in.nMsg", "fetch.nMsg.sec", "fetch.MB.sec", "fetch.time.ms"}
            return numbers if wanted <= numbers.keys() else None
    return None


# --------------------------------------------------------------------------------------------
# Figures: medians, targets, cost


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def medians(samples: list[Sample]) -> dict[str, float]:
    good = [s.figures for s in samples if s.error is None and s.figures]
    keys = sorted({key for figures in good for key in figures})
    return {key: round(statistics.median(f[key] for f in good if key in f), 3) for key in keys}


@dataclass
class Target:
    name: str
    measured: float | None
    goal: str
    ok: bool | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.name,
            "measured": self.measured,
            "goal": self.goal,
            "ok": self.ok,
            "note": self.note,
        }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def targets(results: dict[str, Any]) -> list[Target]:
    found: list[Target] = []
    flows = results["workloads"]

    def median(workload: str, label: str, key: str) -> float | None:
        value = flows.get(workload, {}).get("runs", {}).get(label, {}).get("median", {}).get(key)
        return float(value) if value is not None else None

    def at_least(name: str, value: float | None, goal: float, note: str = "") -> None:
        ok = None if value is None else value >= goal
        found.append(Target(name, value, f"≥ {goal:g}", ok, note))

    rate = "records_per_second"
    for name in flows:
        raw = median(name, "raw-crc-on", rate)
        for codec, goal in (("zstd", TARGET_ZSTD_VS_RAW), ("gzip", TARGET_GZIP_VS_RAW)):
            beat = median(name, f"beat-local-{codec}", rate)
            if beat is not None and raw is not None:
                at_least(f"{name}: local {codec} ÷ raw kafka-python", _ratio(beat, raw), goal)
        for codec in ("gzip", "zstd"):
            s3 = median(name, f"beat-s3-{codec}", rate)
            local = median(name, f"beat-local-{codec}", rate)
            if s3 is not None and local is not None:
                at_least(f"{name}: S3 ÷ local, {codec}", _ratio(s3, local), TARGET_S3_VS_LOCAL)
        java = median(name, "java", rate)
        if raw is not None and java is not None:
            found.append(
                Target(f"{name}: raw kafka-python ÷ Java ceiling", _ratio(raw, java), "—", None)
            )
        on, off = raw, median(name, "raw-crc-off", rate)
        if on is not None and off is not None:
            at_least(f"{name}: raw CRC on ÷ off", _ratio(on, off), TARGET_CRC_ON_VS_OFF)

    peaks = [
        (s["figures"]["peak_rss_mib"], f"{name} {label}")
        for name, flow in flows.items()
        for label, run in flow["runs"].items()
        if label.startswith("beat-")
        for s in run["samples"]
        if s["error"] is None and "peak_rss_mib" in s["figures"]
    ]
    if peaks:
        peak, where = max(peaks)
        found.append(
            Target(
                "Kafka Beat peak RSS, MiB (largest run)",
                peak,
                f"≤ {TARGET_PEAK_RSS_MIB:g}",
                peak <= TARGET_PEAK_RSS_MIB,
                where,
            )
        )
    for big, base, what in (
        ("logs-8p-4x", "logs-8p", "4x backlog ÷ 1x"),
        ("logs-64p", "logs-8p", "64 ÷ 8 partitions"),
    ):
        for codec in ("zstd", "gzip"):
            a = median(big, f"beat-local-{codec}", "peak_rss_mib")
            b = median(base, f"beat-local-{codec}", "peak_rss_mib")
            ratio = _ratio(a, b)
            if ratio is not None:
                ok = abs(ratio - 1) <= TARGET_RSS_SPREAD
                found.append(
                    Target(f"peak RSS {what}, local {codec}", ratio, "1 ± 0.10", ok, f"{a} / {b}")
                )
    for name in flows:
        start = flows[name].get("startup", {}).get("median", {})
        for where in ("local", "s3"):
            seconds = start.get(f"first_object_seconds_{where}")
            if seconds is not None:
                found.append(
                    Target(
                        f"start-up, spawn → first object stored ({where}, 1 record)",
                        seconds,
                        f"≤ {TARGET_STARTUP_SECONDS:g} s",
                        seconds <= TARGET_STARTUP_SECONDS,
                        f"imports {start.get(f'import_seconds_{where}')} s",
                    )
                )
    return found


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


# --------------------------------------------------------------------------------------------
# Machine facts and Markdown


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    java = subprocess.run(
        [kafka_broker.java_executable(), "-version"],
        capture_output=True,
        text=True,
        check=False,
    ).stderr.splitlines()
    from kafka.version import __version__ as kafka_python_version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kafka_python": kafka_python_version,
        "kafka": kafka_broker.kafka_version(),
        "java": java[0] if java else "unknown",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


_RUN_TITLES = {
    "java": "Java ConsumerPerformance (broker ceiling)",
    "raw-crc-on": "kafka-python raw loop, CRC on (raw ceiling)",
    "raw-crc-off": "kafka-python raw loop, CRC off",
}


def run_title(label: str) -> str:
    for beat in EVERY_BEAT:
        if beat.label == label:
            return beat.title
    return _RUN_TITLES.get(label, label)


def _most_others(results: dict[str, Any]) -> float | None:
    values = [
        sample["figures"]["others_cores"]
        for flow in results["workloads"].values()
        for run in [*flow["runs"].values(), flow.get("startup", {"samples": []})]
        for sample in run["samples"]
        if "others_cores" in sample["figures"]
    ]
    return max(values) if values else None


def _other_counts(results: dict[str, Any]) -> str:
    other = [
        f"{name}: {flow['repetitions']}"
        for name, flow in results["workloads"].items()
        if flow["repetitions"] != results["repetitions"]
    ]
    return f" ({', '.join(other)})" if other else ""


def markdown(results: dict[str, Any]) -> str:
    facts = results["machine"]
    lines = [
        f"Benchmark of {results['date']} (`scripts/bench{results['arguments']}`): "
        f"{facts['cpu']}, {facts['cores']} cores, {facts['memory_gib']} GiB, Linux "
        f"{facts['kernel']}; Python {facts['python']}, kafka-python {facts['kafka_python']}, "
        f"Apache Kafka {facts['kafka']} (one broker on the same machine, loopback), "
        f"{facts['java']}; load average at start {facts['load_average_at_start'][0]}. "
        f"Median of {results['repetitions']} repetition(s){_other_counts(results)}.",
        "",
        "| workload | consumer | records/s | MB/s | ÷ raw | CPU s / 1M records "
        "| peak RSS MiB | run s | process s | compression | others' CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, flow in results["workloads"].items():
        raw = flow["runs"].get("raw-crc-on", {}).get("median", {}).get("records_per_second")
        first = True
        for label, run in flow["runs"].items():
            m = run["median"]
            head = f"**{name}**<br>{flow['description']}" if first else ""
            first = False
            failed = sum(1 for s in run["samples"] if s["error"])
            title = run_title(label) + (f" ({failed} failed)" if failed else "")
            ratio = _ratio(m.get("records_per_second"), raw) if label != "raw-crc-on" else None
            compression = m.get("compression_ratio")
            lines.append(
                f"| {head} | {title} | {_fmt(m.get('records_per_second'))} "
                f"| {_fmt(m.get('mb_per_second'), 1)} | {_fmt(ratio, 2)} "
                f"| {_fmt(m.get('cpu_seconds_per_million'), 1)} "
                f"| {_fmt(m.get('peak_rss_mib'))} | {_fmt(m.get('seconds'), 2)} "
                f"| {_fmt(m.get('process_seconds'), 2)} "
                f"| {_fmt(compression, 1) + 'x' if compression else '—'} "
                f"| {_fmt(m.get('others_cores'), 2)} |"
            )
    lines += [
        "",
        "records/s and MB/s (10⁶ bytes of Kafka key + value + headers) are over each consumer's"
        " own timing (*run s*): Kafka Beat's `duration_seconds` (assignment to the last commit,"
        " objects stored), the raw loop's assignment to its last record, ConsumerPerformance's"
        " fetch time (without its group join). *process s* is spawn to exit (interpreter,"
        " imports, connecting, the run). CPU seconds and peak RSS are the whole process's, from"
        " the kernel (`wait4`). *÷ raw*: records/s over the raw kafka-python loop with CRC on."
        " *compression*: JSON lines ÷ stored bytes. The broker, moto and the consumer share the"
        " machine's cores; *others' CPU* is what processes outside the benchmark used meanwhile,"
        f" in cores (highest of any sample: {_fmt(_most_others(results), 2)}).",
        "",
        "| target | measured | goal | met |",
        "|---|--:|--:|:-:|",
    ]
    for target in results["targets"]:
        met = {True: "yes", False: "**no**", None: "—"}[target["ok"]]
        note = f" ({target['note']})" if target["note"] else ""
        lines.append(
            f"| {target['target']}{note} | {_fmt(target['measured'], 2)} "
            f"| {target['goal']} | {met} |"
        )
    startup = [
        (name, flow["startup"]) for name, flow in results["workloads"].items() if "startup" in flow
    ]
    for name, start in startup:
        m = start["median"]
        lines += [
            "",
            f"Start-up ({name}, explicit partitions, a one-record budget; median seconds):",
            "",
            "| | local dir | S3 (moto) |",
            "|---|--:|--:|",
            f"| interpreter alone (`python -c pass`) | {_fmt(m.get('interpreter_seconds'), 3)} "
            f"| {_fmt(m.get('interpreter_seconds'), 3)} |",
            f"| imports of a run (`-X importtime`, top-level cumulative) "
            f"| {_fmt(m.get('import_seconds_local'), 3)} | {_fmt(m.get('import_seconds_s3'), 3)} |",
            f"| spawn → first object stored (≥ first record fetched) "
            f"| {_fmt(m.get('first_object_seconds_local'), 3)} "
            f"| {_fmt(m.get('first_object_seconds_s3'), 3)} |",
            f"| spawn → exit | {_fmt(m.get('exit_seconds_local'), 3)} "
            f"| {_fmt(m.get('exit_seconds_s3'), 3)} |",
        ]
    lines += [
        "",
        f"Cost on AWS Lambda at {LAMBDA_MEMORY_MB:,} MB (one vCPU; x86 "
        f"${LAMBDA_PRICE_PER_GB_SECOND:.10f} per GB-second, $0.20 per million requests, one "
        "invocation per workload backlog): billed seconds taken as the CPU seconds measured "
        "here (the run is single-threaded and CPU-bound), and, as an upper bound, the wall "
        "seconds of the process here.",
        "",
        "| workload | run | CPU s / 1M | GB-s / 1M | $ / 1M events | wall GB-s / 1M "
        "| wall $ / 1M |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for row in results["cost"]:
        lines.append(
            f"| {row['workload']} | {run_title(row['run'])} "
            f"| {_fmt(row['cpu_seconds_per_million'], 1)} "
            f"| {_fmt(row['gb_seconds_per_million'], 1)} | {row['usd_per_million']:.5f} "
            f"| {_fmt(row['wall_gb_seconds_per_million'], 1)} "
            f"| {row['wall_usd_per_million']:.5f} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Orchestration


@contextlib.contextmanager
def broker(bootstrap: str | None) -> Iterator[tuple[str, int | None]]:
    if bootstrap:
        pid = listening_pid(int(bootstrap.rsplit(":", 1)[1]))
        if pid is None:
            progress(
                f"the broker's process at {bootstrap} is not visible: its CPU counts as others'"
            )
        yield bootstrap, pid
        return
    # A temporary broker: its data dir (and the filled topics) go when it stops.
    local = kafka_broker.KafkaBroker(heap="1g")
    progress(f"starting a Kafka {kafka_broker.kafka_version()} broker ...")
    with local:
        progress(f"broker on {local.bootstrap} (data {local.data_dir})")
        yield local.bootstrap, local.pid


@contextlib.contextmanager
def moto_server(needed: bool, work_dir: Path) -> Iterator[tuple[str | None, int | None]]:
    if not needed:
        yield None, None
        return
    from tests.support.s3_server import MotoS3Server

    with MotoS3Server(log_path=work_dir / "moto.log") as server:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name=S3_REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        client.create_bucket(Bucket=BUCKET)
        process = getattr(server, "_process", None)
        yield server.endpoint, process.pid if process is not None else None


def measure(
    bench: Bench, workload: Workload, repetitions: int, settle_seconds: float
) -> dict[str, Any]:
    steps: list[tuple[str, Callable[[int], Sample]]] = []
    if workload.java:
        steps.append(("java", lambda r: bench.java(workload, r)))
    if workload.raw:
        steps.append(("raw-crc-on", lambda r: bench.raw(workload, r, True)))
    if workload.crc_off:
        steps.append(("raw-crc-off", lambda r: bench.raw(workload, r, False)))
    for beat in workload.beats:
        if beat.destination == "s3" and bench.s3_endpoint is None:
            continue
        steps.append((beat.label, functools.partial(bench.beat, workload, beat)))
    if workload.startup:
        steps.append(("startup", lambda r: bench.startup(workload, r)))
    samples: dict[str, list[Sample]] = {label: [] for label, _ in steps}
    for repetition in range(repetitions):
        # Interleaved: each repetition runs every consumer once, so drift hits all alike.
        for label, step in steps:
            waited = bench.watch.settle(settle_seconds)
            before = bench.watch.snapshot()
            sample = step(repetition)
            sample.figures["others_cores"] = Watch.others_cores(before, bench.watch.snapshot())
            if settle_seconds:
                sample.figures["settle_seconds"] = round(waited, 1)
            samples[label].append(sample)
            progress(f"[{workload.name} {repetition + 1}/{repetitions}] {_line(sample)}")
    flow: dict[str, Any] = {
        "topic": workload.topic,
        "description": workload.describe(),
        "purpose": workload.purpose,
        "records": bench.expected[workload.topic],
        "repetitions": repetitions,
        "runs": {},
    }
    for label, runs in samples.items():
        entry = {
            "median": medians(runs),
            "samples": [
                {"repetition": s.repetition, "figures": s.figures, "error": s.error} for s in runs
            ],
        }
        if label == "startup":
            flow["startup"] = entry
        else:
            flow["runs"][label] = entry
    return flow


def _line(sample: Sample) -> str:
    f = sample.figures
    if sample.error:
        return f"{sample.label}: FAILED {sample.error.splitlines()[0] if sample.error else ''}"
    if sample.label == "startup":
        return "startup: " + ", ".join(f"{k} {v}" for k, v in f.items())
    return (
        f"{sample.label}: {f.get('records_per_second', 0):,.0f} rec/s, "
        f"{f.get('mb_per_second', 0):.1f} MB/s, {f.get('cpu_seconds_per_million', 0):.1f} "
        f"CPU s/M, RSS {f.get('peak_rss_mib', 0):.0f} MiB, {f.get('seconds', 0):.2f} s, "
        f"others {f.get('others_cores', 0):.2f} cores"
    )


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
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=f"workloads: {', '.join(names)}",
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
    chosen = names if not args.workloads else [n.strip() for n in args.workloads.split(",")]
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
    started = time.monotonic()
    work_dir = Path(tempfile.mkdtemp(prefix="kafka-beat-bench-"))
    launcher = Launcher(work_dir)
    try:
        with (
            broker(args.bootstrap) as (bootstrap, broker_pid),
            moto_server(needs_s3, work_dir) as (endpoint, moto_pid),
        ):
            expected = {w.topic: fill(bootstrap, w, work_dir, launcher) for w in selected}
            pids = [(os.getpid(), False), (launcher.pid, True)]
            pids += [(pid, False) for pid in (broker_pid, moto_pid) if pid is not None]
            bench = Bench(bootstrap, work_dir, endpoint, expected, launcher, Watch(pids))
            for workload in selected:
                progress(f"== {workload.name}: {workload.describe()} ({workload.topic})")
                repetitions = args.counts.get(workload.name, args.repetitions)
                flow = measure(bench, workload, repetitions, args.settle)
                results["workloads"][workload.name] = flow
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
        for run in [*flow["runs"].values(), flow.get("startup", {"samples": []})]
        for s in run["samples"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
