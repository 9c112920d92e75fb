#!/usr/bin/env python3
"""A real single-node Apache Kafka broker (KRaft, broker+controller) for tests and development.

The Kafka jars come from Maven Central through ``scripts/kafka/pom.xml`` (the Kafka version is
the ``kafka.version`` property there) and are cached between runs.  Everything binds to
127.0.0.1 only.  Standard library only.

Library use (e.g. a pytest session fixture)::

    with KafkaBroker() as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        ...
        broker.restart()  # same port, same data: "broker restarted mid-run"

Command line (local development; state lives in ``.dev/kafka/`` under the repo)::

    python scripts/kafka_broker.py start [--port N] [--data-dir D]   # prints the bootstrap
    python scripts/kafka_broker.py status
    python scripts/kafka_broker.py stop
    python scripts/kafka_broker.py jars                              # prints the jar dir

Data-dir layout: ``server.properties``, ``log4j2.properties``, ``kafka-beat-broker.json``
(ports, cluster id), ``logs/broker.log`` (the JVM's stdout+stderr, appended across restarts)
and ``kraft/`` (Kafka's ``log.dirs``: partitions and the ``__cluster_metadata`` log).
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

SCRIPTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS_DIR.parent
POM = SCRIPTS_DIR / "kafka" / "pom.xml"
DEV_DIR = REPO_ROOT / ".dev" / "kafka"

HOST = "127.0.0.1"
SERVER_CLASS = "kafka.Kafka"
STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"
STARTED_MARKER = "Kafka Server started"
JARS_MARKER = ".kafka-beat-complete"
STATE_FILE = "kafka-beat-broker.json"

DEFAULT_HEAP = "512m"
DEFAULT_START_TIMEOUT = 60.0
DEFAULT_STOP_TIMEOUT = 30.0


class KafkaBrokerError(RuntimeError):
    """Getting the jars, or starting or stopping the broker, failed."""


# --------------------------------------------------------------------------------------------
# Jars


def kafka_version() -> str:
    """The Kafka version named by the ``kafka.version`` property of scripts/kafka/pom.xml."""
    return pom_property("kafka.version")


def pom_property(name: str) -> str:
    """A property of scripts/kafka/pom.xml (the one place the Kafka version is named)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find(f"m:properties/m:{name}", ns)
    if node is None or not (node.text or "").strip():
        raise KafkaBrokerError(f"no <{name}> property in {POM}")
    return (node.text or "").strip()


def jars_dir() -> Path:
    """Where the jars are cached: $KAFKA_BEAT_JARS_DIR or ~/.cache/kafka-beat/kafka-VERSION/."""
    env = os.environ.get("KAFKA_BEAT_JARS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return cache_dir() / f"kafka-{kafka_version()}"


def cache_dir() -> Path:
    """~/.cache/kafka-beat (or under $XDG_CACHE_HOME): jars and tools kept between runs."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kafka-beat"


def _jars_complete(target: Path, digest: str) -> bool:
    marker = target / JARS_MARKER
    try:
        return marker.read_text(encoding="utf-8").strip() == digest
    except OSError:
        return False


def ensure_jars() -> Path:
    """Copy the broker's jars from Maven (via mvn) into the cache dir unless already complete."""
    return copy_maven_jars(POM, jars_dir(), "kafka_2.13-*.jar")


def copy_maven_jars(
    pom: Path, target: Path, expected_jar: str, properties: Mapping[str, str] | None = None
) -> Path:
    """Copy the runtime dependencies of `pom` (mvn dependency:copy-dependencies, with
    `properties` as -D flags) into `target` unless already complete; returns `target`.

    A marker file holding the digest of the pom and the properties is written last, so an
    interrupted copy, or a changed pom, is redone. Concurrent callers are serialised with a
    lock file. `expected_jar` is a glob that must match once the copy is done.
    """
    flags = [f"-D{key}={value}" for key, value in sorted((properties or {}).items())]
    digest = hashlib.sha256(pom.read_bytes() + "\0".join(flags).encode()).hexdigest()
    if _jars_complete(target, digest):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _jars_complete(target, digest):
            return target
        if target.exists():
            shutil.rmtree(target)
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaBrokerError("mvn (Apache Maven) is not on PATH; it is needed for the jars")
        cmd = [
            mvn,
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(pom),
            *flags,
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={target}",
        ]
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not any(target.glob(expected_jar)):
            raise KafkaBrokerError(
                f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stdout}"
            )
        (target / JARS_MARKER).write_text(digest + "\n", encoding="utf-8")
    return target


def java_classpath() -> str:
    """A ``java -cp`` value with every Kafka jar (fetching them first if needed).

    Also fits the perf tools, e.g.
    ``java -cp CP org.apache.kafka.tools.ProducerPerformance --topic t ...``.
    """
    return str(ensure_jars() / "*")


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaBrokerError("java is not on PATH (and JAVA_HOME is not set)")
    return java


# --------------------------------------------------------------------------------------------
# Network helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def api_versions_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if a Kafka ApiVersions v0 request on host:port gets an error-free answer."""
    client_id = b"kafka-beat-probe"
    correlation_id = 0x4B42
    # Request header v1: api_key=18 (ApiVersions), api_version=0, correlation id, client id.
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            payload = _recv_exact(sock, size)
    except (OSError, struct.error):
        return False
    if len(payload) < 6:
        return False
    got_id, error_code = struct.unpack(">ih", payload[:6])
    return bool(got_id == correlation_id and error_code == 0)


# --------------------------------------------------------------------------------------------
# Process helpers


def _die_with_parent_prefix() -> list[str]:
    """A command prefix that makes the child get SIGKILL when this process dies (Linux).

    Uses util-linux's ``setpriv --pdeathsig`` (which then execs the command, so the pid stays
    the JVM's); without setpriv there is no such guard, only the atexit clean-up.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def _pid_alive(pid: int) -> bool:
    """True if pid runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _log_report(path: Path, start: int = 0, tail: int = 40, max_errors: int = 30) -> str:
    """The ERROR lines (with what follows them) and the last lines of a log, from ``start``."""
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no broker log)"
    errors: list[str] = []
    for i, line in enumerate(lines):
        if " ERROR " in line or " FATAL " in line:
            errors.extend(lines[i : i + 3])
        if len(errors) >= max_errors:
            break
    parts = []
    if errors:
        parts += ["--- errors ---", *errors[:max_errors]]
    parts += [f"--- last {tail} lines of {path} ---", *lines[-tail:]]
    return "\n".join(parts)


def port_in_use(port: int) -> bool:
    """True if something listens on 127.0.0.1:port (TIME_WAIT leftovers don't count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
        return False


# --------------------------------------------------------------------------------------------
# The broker


_LIVE: weakref.WeakSet[KafkaBroker] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for broker in list(_LIVE):
        with contextlib.suppress(Exception):
            broker.stop(timeout=10.0)
            if broker._own_data_dir:
                shutil.rmtree(broker.data_dir, ignore_errors=True)


CONSOLE_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
"""
"""Log4j 2 writing INFO and above to stdout: the broker's, and Connect's in the benchmark."""
_LOG4J2 = (
    CONSOLE_LOG4J2
    + """\
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""
)


class KafkaBroker:
    """One Kafka 4.x node (process.roles=broker,controller) on 127.0.0.1.

    ``port`` and ``controller_port`` default to free ports (or the ones recorded in an existing
    ``data_dir``). ``data_dir`` defaults to a temporary directory that ``close()`` (and leaving
    the ``with`` block) deletes; a given ``data_dir`` is kept. ``extra_properties`` are merged
    into server.properties last, so they override the defaults. With ``detached=False`` (the
    default) the JVM is killed when this Python process dies; ``detached=True`` is for the CLI.
    """

    def __init__(
        self,
        port: int | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        extra_properties: Mapping[str, str] | None = None,
        *,
        controller_port: int | None = None,
        heap: str = DEFAULT_HEAP,
        jvm_options: Sequence[str] = (),
        start_timeout: float = DEFAULT_START_TIMEOUT,
        detached: bool = False,
    ) -> None:
        self._own_data_dir = data_dir is None
        if data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="kafka-beat-broker-"))
        else:
            self.data_dir = Path(data_dir).expanduser().resolve()
            self.data_dir.mkdir(parents=True, exist_ok=True)
        state = self._read_state()
        self._auto_ports = port is None and "port" not in state
        self.port: int = port or _int(state.get("port")) or free_port()
        self.controller_port: int = (
            controller_port or _int(state.get("controller_port")) or self._other_free_port()
        )
        self.cluster_id: str = str(state.get("cluster_id") or _new_cluster_id())
        self.extra_properties = dict(extra_properties or {})
        self.heap = heap
        self.jvm_options = list(jvm_options)
        self.start_timeout = start_timeout
        self.detached = detached
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    # -- paths and addresses ------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """``"127.0.0.1:PORT"`` for ``bootstrap_servers``."""
        return f"{HOST}:{self.port}"

    @property
    def log_dir(self) -> Path:
        """Directory of the broker's own output (``broker.log``)."""
        return self.data_dir / "logs"

    @property
    def log_file(self) -> Path:
        """The JVM's stdout+stderr (Kafka's log4j output), appended across restarts."""
        return self.log_dir / "broker.log"

    @property
    def storage_dir(self) -> Path:
        """Kafka's ``log.dirs``: the partition data and the KRaft metadata log."""
        return self.data_dir / "kraft"

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def properties(self) -> dict[str, str]:
        """The server.properties this broker runs with."""
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.storage_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # A SIGKILLed node re-registers only once its old session expires (default 9 s).
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "4000",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        props.update(self.extra_properties)
        return props

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> KafkaBroker:
        """Format the storage if new, start the JVM and wait until it serves on its port."""
        with self._lock:
            if self.is_running():
                return self
            attempts = 3 if self._auto_ports else 1
            for attempt in range(attempts):
                try:
                    self._start_once()
                except KafkaBrokerError as exc:
                    if attempt + 1 < attempts and "Address already in use" in str(exc):
                        self.port = free_port()
                        self.controller_port = self._other_free_port()
                        continue
                    raise
                break
            self._auto_ports = False  # restarts must keep the address
            return self

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL after ``timeout`` seconds. No-op if stopped."""
        self._terminate(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL the JVM (an unclean crash) and reap it."""
        self._terminate(signal.SIGKILL, 10.0)

    def restart(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> KafkaBroker:
        """``stop()`` then ``start()``: same ports, same data."""
        self.stop(timeout)
        return self.start()

    def close(self) -> None:
        """Stop, and delete the data dir if it was a temporary one made by this object."""
        self.stop()
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"KafkaBroker({self.bootstrap}, {state}, data_dir={str(self.data_dir)!r})"

    # -- internals ----------------------------------------------------------------------------

    def _other_free_port(self) -> int:
        while True:
            port = free_port()
            if port != getattr(self, "port", None):
                return port

    def _read_state(self) -> dict[str, object]:
        try:
            data = json.loads((self.data_dir / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_files(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{key}={value}" for key, value in self.properties().items()]
        self.properties_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2, encoding="utf-8")
        state = {
            "port": self.port,
            "controller_port": self.controller_port,
            "cluster_id": self.cluster_id,
            "bootstrap": self.bootstrap,
        }
        (self.data_dir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")

    def _java_cmd(self, main_class: str, args: Sequence[str], heap: str) -> list[str]:
        return [
            java_executable(),
            f"-Xmx{heap}",
            "-XX:+UseSerialGC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.log_dir}",
            *self.jvm_options,
            "-cp",
            java_classpath(),
            main_class,
            *args,
        ]

    def _format_storage(self) -> None:
        if (self.storage_dir / "meta.properties").exists():
            return
        cmd = self._java_cmd(
            STORAGE_TOOL_CLASS,
            [
                "format",
                "--cluster-id",
                self.cluster_id,
                "--config",
                str(self.properties_file),
                "--ignore-formatted",
            ],
            heap="256m",
        )
        cmd.insert(1, "-XX:TieredStopAtLevel=1")
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        with self.log_file.open("a", encoding="utf-8") as log:
            log.write(proc.stdout)
        if proc.returncode != 0:
            raise KafkaBrokerError(
                f"{STORAGE_TOOL_CLASS} format failed (exit {proc.returncode}):\n{proc.stdout}"
            )

    def _start_once(self) -> None:
        for port in (self.port, self.controller_port):
            if port_in_use(port):
                raise KafkaBrokerError(f"Address already in use: {HOST}:{port} is taken")
        self._write_files()
        with self.log_file.open("a", encoding="utf-8") as log:
            log.write(
                f"\n===== kafka_broker.py: starting {self.bootstrap} at {time.ctime()} =====\n"
            )
        self._format_storage()
        offset = self.log_file.stat().st_size
        cmd = self._java_cmd(SERVER_CLASS, [str(self.properties_file)], heap=self.heap)
        cmd.insert(1, f"-Xms{min(256, _heap_mb(self.heap))}m")
        if not self.detached:
            cmd = _die_with_parent_prefix() + cmd
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        if not self.detached:
            _LIVE.add(self)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                _LIVE.discard(self)
                raise KafkaBrokerError(
                    f"Kafka broker exited with code {code} while starting:\n"
                    + _log_report(self.log_file, offset)
                )
            if self._started_marker_seen(offset) and api_versions_ok(HOST, self.port):
                return
            if time.monotonic() > deadline:
                self._terminate(signal.SIGKILL, 10.0)
                raise KafkaBrokerError(
                    f"Kafka broker on {self.bootstrap} not ready after {self.start_timeout:.0f} s;"
                    "\n" + _log_report(self.log_file, offset)
                )
            time.sleep(0.1)

    def _started_marker_seen(self, offset: int) -> bool:
        try:
            with self.log_file.open("rb") as fh:
                fh.seek(offset)
                return STARTED_MARKER.encode() in fh.read()
        except OSError:
            return False

    def _terminate(self, sig: signal.Signals, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(10.0)
        self._proc = None
        _LIVE.discard(self)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _heap_mb(heap: str) -> int:
    units = {"k": 1 / 1024, "m": 1, "g": 1024}
    text = heap.strip().lower()
    if text and text[-1] in units:
        return max(1, int(float(text[:-1]) * units[text[-1]]))
    return max(1, int(text) // (1024 * 1024))


def _new_cluster_id() -> str:
    """A Kafka Uuid string (22 chars, URL-safe base64) that doesn't start with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


# --------------------------------------------------------------------------------------------
# Command line: a detached broker for local development


def _dev_paths() -> tuple[Path, Path]:
    return DEV_DIR / "broker.pid", DEV_DIR / "broker.json"


def _ensure_dev_dir() -> None:
    DEV_DIR.mkdir(parents=True, exist_ok=True)  # .dev/ is in the repo's .gitignore


def _running_dev_broker() -> dict[str, object] | None:
    """The recorded dev broker if its process still runs, else None (clearing stale files)."""
    pid_file, info_file = _dev_paths()
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
        info = json.loads(info_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cmd = _cmdline(pid)
    if isinstance(info, dict) and _pid_alive(pid) and SERVER_CLASS in cmd:
        info["pid"] = pid
        return info
    for path in (pid_file, info_file):
        path.unlink(missing_ok=True)
    return None


def _cmd_start(args: argparse.Namespace) -> int:
    running = _running_dev_broker()
    if running is not None:
        if args.port and f":{args.port}" not in str(running.get("bootstrap")):
            print(f"note: a broker already runs (pid {running['pid']})", file=sys.stderr)
        print(running["bootstrap"])
        return 0
    _ensure_dev_dir()
    data_dir = Path(args.data_dir) if args.data_dir else DEV_DIR / "data"
    broker = KafkaBroker(port=args.port, data_dir=data_dir, detached=True)
    started = time.monotonic()
    broker.start()
    pid_file, info_file = _dev_paths()
    info = {
        "bootstrap": broker.bootstrap,
        "data_dir": str(broker.data_dir),
        "log_file": str(broker.log_file),
    }
    info_file.write_text(json.dumps(info, indent=2), encoding="utf-8")
    pid_file.write_text(f"{broker.pid}\n", encoding="utf-8")
    print(
        f"Kafka {kafka_version()} started in {time.monotonic() - started:.1f} s "
        f"(pid {broker.pid}, log {broker.log_file})",
        file=sys.stderr,
    )
    print(broker.bootstrap)
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    running = _running_dev_broker()
    if running is None:
        print("not running")
        return 0
    pid = int(str(running["pid"]))
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while _pid_alive(pid):
            time.sleep(0.1)
    for path in _dev_paths():
        path.unlink(missing_ok=True)
    print(f"stopped (pid {pid})")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    running = _running_dev_broker()
    if running is None:
        print("not running")
        return 1
    print(f"running pid={running['pid']} bootstrap={running['bootstrap']}")
    return 0


def _cmd_jars(args: argparse.Namespace) -> int:
    print(ensure_jars())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a background broker (prints its bootstrap)")
    start.add_argument("--port", type=int, default=None)
    start.add_argument("--data-dir", default=None, help=f"default {DEV_DIR / 'data'}")
    start.set_defaults(func=_cmd_start)
    stop = sub.add_parser("stop", help="stop the background broker")
    stop.add_argument("--timeout", type=float, default=DEFAULT_STOP_TIMEOUT)
    stop.set_defaults(func=_cmd_stop)
    sub.add_parser("status", help="is it running, and where").set_defaults(func=_cmd_status)
    sub.add_parser("jars", help="fetch the jars; print their dir").set_defaults(func=_cmd_jars)
    args = parser.parse_args(argv)
    try:
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except KafkaBrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
