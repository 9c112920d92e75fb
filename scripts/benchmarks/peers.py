"""The peers measured beside Kafka Beat on the same broker and topic: kcat piped into zstd and
into gzip (what a shell one-liner does), and Kafka Connect's FileStream sink in standalone
mode (what the Kafka project ships). Each is skipped, with a message saying how to get it, when
it cannot run here; a missing peer never stops the benchmark."""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

from scripts import kafka_broker

from . import progress
from .parsing import count_lines
from .processes import PROGRAMS_DIR, child_env
from .runs import Bench, Sample, process_figures, rates, timeout_for
from .workloads import CONNECT_LABEL, KcatPipe, Workload

CONNECT_SINK = PROGRAMS_DIR / "connect_sink.py"
CONNECT_POM = kafka_broker.SCRIPTS_DIR / "kafka" / "connect" / "pom.xml"
KCAT_INSTALL = "apt-get install -y kcat (Debian/Ubuntu) or brew install kcat"

# Kafka Beat's consumer checks CRCs and reads committed records only; the peers are asked to
# do the same (librdkafka leaves CRCs unchecked by default).
_KCAT = 'kcat -C -b "$1" -t "$2" -o beginning -e -q -X check.crcs=true | "${@:4}" > "$3"'


_POM_VERSIONS = ("kafka.version", "slf4j.version", "log4j2.version")


def connect_jars() -> Path:
    """Connect's jars (fetched once into ~/.cache/kafka-beat), at the broker's versions."""
    versions = {name: kafka_broker.pom_property(name) for name in _POM_VERSIONS}
    target = kafka_broker.cache_dir() / f"kafka-connect-{versions['kafka.version']}"
    return kafka_broker.copy_maven_jars(CONNECT_POM, target, "connect-file-*.jar", versions)


def worker_properties(bootstrap: str, offsets_file: Path) -> dict[str, str]:
    """The standalone worker: the sink's offsets go to the group (offsets_file only holds
    source offsets, but standalone mode requires it); values as text so the FileStream sink
    writes each record's value as one line (with ByteArray it would print b[]'s toString)."""
    return {
        "bootstrap.servers": bootstrap,
        "key.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        "offset.storage.file.filename": str(offsets_file),
        # How often the sink flushes its file and commits: Connect's default is 60 s.
        "offset.flush.interval.ms": "1000",
        # The connectors on the class path, without scanning every jar for plugins (KIP-898).
        "plugin.discovery": "service_load",
        "listeners": "http://127.0.0.1:0",
        "consumer.isolation.level": "read_committed",
        "consumer.check.crcs": "true",
    }


def sink_properties(name: str, topic: str, output: Path) -> dict[str, str]:
    """The FileStream sink; its group is connect-NAME. One task: the sink writes one file."""
    return {
        "name": name,
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "tasks.max": "1",
        "topics": topic,
        "file": str(output),
    }


def properties_text(properties: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in properties.items())


class Peers:
    """Runs the peers for a Bench; `skipped` says which could not run and why."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.skipped: list[str] = []
        self._kcat: bool | None = None
        self._connect: Path | bool | None = None

    def _skip(self, message: str) -> None:
        if message not in self.skipped:
            self.skipped.append(message)
            progress(f"skipping: {message}")

    def kcat_ready(self) -> bool:
        if self._kcat is None:
            missing = [tool for tool in ("kcat", "zstd", "gzip") if shutil.which(tool) is None]
            self._kcat = not missing
            if missing:
                self._skip(
                    f"the kcat rows: {', '.join(missing)} not on PATH; install kcat with "
                    f"{KCAT_INSTALL}"
                )
        return self._kcat

    def connect_ready(self) -> bool:
        if self._connect is None:
            try:
                self._connect = connect_jars()
            except kafka_broker.KafkaBrokerError as exc:
                self._connect = False
                self._skip(f"the Kafka Connect row: its jars could not be fetched ({exc})")
        return self._connect is not False

    def kcat(self, workload: Workload, pipe: KcatPipe, repetition: int) -> Sample:
        sample = Sample(pipe.label, repetition)
        bench = self.bench
        records = bench.expected[workload.topic]
        output = bench.work_dir / f"kcat-{uuid.uuid4().hex[:12]}{pipe.extension}"
        command = ["bash", "-o", "pipefail", "-c", _KCAT, "kcat-pipe", bench.bootstrap]
        command += [workload.topic, str(output), *pipe.command]
        try:
            # bash waits for both ends of the pipe, so wait4 on it counts kcat's and the
            # compressor's CPU; peak RSS is the larger of the two, not their sum.
            child = bench.launcher.run(command, child_env(), bench.cwd, timeout_for(records))
            stored = output.stat().st_size if output.exists() else 0
            lines, text_bytes = count_lines(output, pipe.command[0]) if stored else (0, 0)
        finally:
            output.unlink(missing_ok=True)
        if child.returncode != 0:
            sample.error = f"kcat pipeline exit {child.returncode}:\n{child.tail()}"
            return sample
        sample.figures = {
            # kcat has no timing of its own: its figures are spawn to exit.
            **rates(lines, text_bytes - lines, child.seconds),
            "bytes_out": stored,
            "compression_ratio": round(text_bytes / max(1, stored), 2),
            **process_figures(child, lines),
        }
        if lines != records:
            sample.error = f"kcat wrote {lines:,} of {records:,} records"
        return sample

    def connect(self, workload: Workload, repetition: int) -> Sample:
        sample = Sample(CONNECT_LABEL, repetition)
        bench = self.bench
        jars = self._connect
        assert isinstance(jars, Path), "connect_ready() first"
        records = bench.expected[workload.topic]
        run = bench.work_dir / f"connect-{uuid.uuid4().hex[:12]}"
        run.mkdir()
        name = f"bench-connect-{run.name}"
        (run / "worker.properties").write_text(
            properties_text(worker_properties(bench.bootstrap, run / "offsets"))
        )
        output = run / "sink.txt"
        (run / "sink.properties").write_text(
            properties_text(sink_properties(name, workload.topic, output))
        )
        (run / "log4j2.properties").write_text(kafka_broker.CONSOLE_LOG4J2)
        java = [
            kafka_broker.java_executable(),
            "-Xmx1g",
            f"-Dlog4j2.configurationFile={run / 'log4j2.properties'}",
            "-cp",
            str(jars / "*"),
            "org.apache.kafka.connect.cli.ConnectStandalone",
            str(run / "worker.properties"),
            str(run / "sink.properties"),
        ]
        config = {
            "command": java,
            "log": str(run / "connect.log"),
            "bootstrap": bench.bootstrap,
            "group": f"connect-{name}",
            "topic": workload.topic,
            "file": str(output),
            "timeout": timeout_for(records),
        }
        command = [sys.executable, str(CONNECT_SINK), json.dumps(config)]
        try:
            child = bench.launcher.run(command, child_env(), bench.cwd, timeout_for(records) + 60)
            log = (run / "connect.log").read_text(encoding="utf-8", errors="replace")
        finally:
            shutil.rmtree(run, ignore_errors=True)
        try:
            result = json.loads(child.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            sample.error = f"connect_sink.py exit {child.returncode}:\n{child.tail()}"
            return sample
        if result["error"]:
            tail = "\n".join(log.strip().splitlines()[-15:])
            sample.error = f"{result['error']}\n{tail}"
            return sample
        per_million = 1_000_000 / max(1, result["records"])
        sample.figures = {
            **rates(result["records"], result["payload_bytes"], result["seconds"]),
            # The JVM's own figures, without the wrapper that watched it.
            "process_seconds": round(result["exit_seconds"], 3),
            "cpu_seconds": round(result["cpu_seconds"], 3),
            "cpu_seconds_per_million": round(result["cpu_seconds"] * per_million, 3),
            "cpu_seconds_to_exit": round(result["cpu_seconds_to_exit"], 3),
            "peak_rss_mib": round(result["peak_rss_kib"] / 1024, 1),
            "bytes_out": result["payload_bytes"] + result["records"],
        }
        if result["records"] != records:
            sample.error = f"the sink wrote {result['records']:,} of {records:,} records"
        return sample
