"""A real Schema Registry for the tests: Apicurio Registry (Apache-2.0), which serves
Confluent's Schema Registry API under `/apis/ccompat/v7`, from Maven Central, cached in
~/.cache/kafka-beat/apicurio-VERSION/ and started on free 127.0.0.1 ports with its schemas in
memory.

    python -m scripts.schema_registry install   # download, check and unpack it (109 MB, once)

Library use: `with SchemaRegistry(log_path) as registry: registry.url`, or
`SchemaRegistry(log_path, users={"name": "password"})` for HTTP basic auth. 3.0.9 is the newest
that runs on Java 17 (3.1 and later need Java 21). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from scripts.emulators import HOST, _Server
from scripts.kafka_broker import cache_dir, free_port, java_executable

APICURIO_VERSION = "3.0.9"
ARCHIVE_URL = (
    "https://repo1.maven.org/maven2/io/apicurio/apicurio-registry-app/"
    f"{APICURIO_VERSION}/apicurio-registry-app-{APICURIO_VERSION}-all.tar.gz"
)
CCOMPAT = "/apis/ccompat/v7"
_MARKER = ".kafka-beat-complete"


def apicurio_dir() -> Path:
    return cache_dir() / f"apicurio-{APICURIO_VERSION}"


def runner_jar() -> Path:
    return apicurio_dir() / f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"


def install() -> Path:
    """Download the pinned Apicurio from Maven Central, check it against the repository's
    SHA-1 and unpack it into the cache unless already there; a marker written last makes an
    interrupted install be redone. (Maven itself cannot fetch it: the parent pom the artifact
    names is not published.)"""
    directory = apicurio_dir()
    if (directory / _MARKER).is_file() and runner_jar().is_file():
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    archive = directory / "apicurio.tar.gz"
    try:
        with urllib.request.urlopen(ARCHIVE_URL + ".sha1", timeout=60) as answer:
            expected = answer.read().decode().split()[0].strip()
        digest = hashlib.sha1(usedforsecurity=False)
        with urllib.request.urlopen(ARCHIVE_URL, timeout=600) as answer, archive.open("wb") as out:
            while chunk := answer.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except OSError as exc:
        raise RuntimeError(f"downloading {ARCHIVE_URL} failed: {exc}") from exc
    if digest.hexdigest() != expected:
        raise RuntimeError(
            f"{ARCHIVE_URL}: SHA-1 {digest.hexdigest()}, the repository says {expected}"
        )
    with tarfile.open(archive) as unpacked:
        unpacked.extractall(directory, filter="data")
    archive.unlink()
    if not runner_jar().is_file():
        raise RuntimeError(f"{ARCHIVE_URL} holds no {runner_jar().name}")
    (directory / _MARKER).write_text(ARCHIVE_URL + "\n", encoding="utf-8")
    return directory


class SchemaRegistry(_Server):
    """Apicurio Registry in memory (H2), its management port free too; with `users`, every
    request needs HTTP basic auth as one of them."""

    name = "apicurio-registry"

    def __init__(self, log_path: Path | None = None, users: dict[str, str] | None = None) -> None:
        super().__init__(log_path)
        self.management_port = free_port()
        self.users = users or {}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{CCOMPAT}"

    def command(self) -> list[str]:
        jar = runner_jar()
        if not jar.is_file():
            raise RuntimeError(f"the schema registry is not installed at {jar}: run scripts/test")
        auth = [f"-Dquarkus.security.users.embedded.users.{n}={p}" for n, p in self.users.items()]
        if auth:
            # Quarkus's embedded users, no token server (`basic-client-credentials` would
            # swap the password for an OIDC token).
            auth += [
                "-Dquarkus.http.auth.basic=true",
                "-Dquarkus.security.users.embedded.plain-text=true",
            ]
        return [
            java_executable(),
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Dquarkus.http.host={HOST}",
            f"-Dquarkus.http.port={self.port}",
            f"-Dquarkus.management.host={HOST}",
            f"-Dquarkus.management.port={self.management_port}",
            *auth,
            "-jar",
            str(jar),
        ]

    def start(self, timeout: float = 90) -> SchemaRegistry:
        super().start(timeout)
        # The port opens before the API answers: ready once a request gets an HTTP answer.
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(f"{self.url}/subjects", headers=self._auth_header())
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(request, timeout=2):
                    return self
            except urllib.error.HTTPError as exc:
                if exc.code != 503:
                    raise RuntimeError(f"{self.name} answered {exc.code} when ready") from exc
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on {self.url} in {timeout} s")

    def _auth_header(self) -> dict[str, str]:
        if not self.users:
            return {}
        name, password = next(iter(self.users.items()))
        token = base64.b64encode(f"{name}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.schema_registry", description=__doc__)
    parser.add_argument("action", choices=["install"])
    parser.parse_args()
    print(install())


if __name__ == "__main__":
    main()
