"""Deployment tests build the Lambda zip once per session (the real broker and the moto server
come from tests/support/fixtures.py, shared by every test folder)."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The zip as a user builds it, for this interpreter's Python and machine, so that it can
    run here; the deployed one differs only in the version and platform of its wheels."""
    return build_zip(tmp_path_factory, "kafka-beat-lambda.zip")


@pytest.fixture(scope="session")
def parquet_lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same with the parquet extra (pyarrow)."""
    return build_zip(tmp_path_factory, "kafka-beat-lambda-parquet.zip", "--extra", "parquet")


def build_zip(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *extra: str,
    python_version: str | None = None,
) -> dict[str, Any]:
    """scripts/build_lambda_zip's zip for this machine (and this interpreter's Python unless
    `python_version`), with `extra` arguments; what it printed."""
    machine = platform.machine()
    if machine not in LAMBDA_ARCH:
        pytest.skip(f"Lambda has no {machine} architecture")
    output = tmp_path_factory.mktemp("lambda-zip") / name
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    result = subprocess.run(
        [
            str(ROOT / "scripts" / "build_lambda_zip"),
            "--python-version",
            version,
            "--arch",
            LAMBDA_ARCH[machine],
            "--output",
            str(output),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


LIBRDKAFKA_PYTHON = "3.12"
"""The zip with the librdkafka extra targets a runtime on Amazon Linux 2023 (glibc 2.34):
confluent-kafka's wheels need glibc 2.28, more than the python3.11 runtime has."""


@pytest.fixture(scope="session")
def librdkafka_python() -> str:
    """An interpreter of LIBRDKAFKA_PYTHON to run that zip with, as Lambda's runtime would."""
    name = f"python{LIBRDKAFKA_PYTHON}"
    installed = Path.home().glob(f".pyenv/versions/{LIBRDKAFKA_PYTHON}*/bin/{name}")
    candidates = [shutil.which(name), *sorted(str(path) for path in installed)]
    for interpreter in candidates:
        if interpreter is None:
            continue
        ran = subprocess.run([interpreter, "-I", "-c", ""], capture_output=True, check=False)
        if ran.returncode == 0:  # a pyenv shim without that version installed does not run
            return interpreter
    pytest.skip(f"no {name} here to run its Lambda zip")


@pytest.fixture(scope="session")
def lambda_zip_librdkafka(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The zip with `--extra librdkafka` (KAFKA_BEAT_KAFKA_CLIENT=confluent)."""
    return build_zip(
        tmp_path_factory,
        "kafka-beat-lambda-librdkafka.zip",
        "--extra",
        "librdkafka",
        python_version=LIBRDKAFKA_PYTHON,
    )
