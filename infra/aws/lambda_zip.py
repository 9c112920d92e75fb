"""Build the AWS Lambda code zip: the `handler` package and its dependencies, as manylinux
wheels for the Lambda runtime's Python version and architecture (pydantic-core, orjson,
zstandard and crc32c are compiled, so the wheels must match the runtime, not this machine).

Run through `scripts/build_lambda_zip`; `infra/aws/deploy` calls it for the stack's runtime.
Dependency versions are pinned to the ones installed next to this interpreter (the versions the
test suite ran with) unless `--no-pin` is given. boto3 ships in the zip too: the runtime's copy
lags behind and the S3 store needs `IfNoneMatch` on PutObject, so the tested version goes along.
The zip is reproducible: sorted entries and fixed timestamps, so the same inputs give the same
bytes and the same content-addressed key on upload.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
# glibc of the runtime's OS: python3.11 runs on Amazon Linux 2, later versions on AL2023.
_GLIBC_MINOR = {"3.11": 26}
_GLIBC_MINOR_DEFAULT = 34
# confluent-kafka 2.16 ships manylinux_2_28 wheels only (librdkafka bundled in them).
_LIBRDKAFKA_GLIBC_MINOR = 28
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Unzipped code may not exceed 250 MB in Lambda.
_UNZIPPED_LIMIT = 250 * 1024 * 1024
_SKIPPED_NAMES = frozenset({"__pycache__", "bin"})
BUILD_INFO = "kafka_beat_build.json"


class BuildError(Exception):
    """The zip could not be built; the message says why and what to change."""


def platform_tags(python_version: str, arch: str) -> list[str]:
    """Wheel platforms that run on the Lambda runtime of this version and architecture."""
    machine = ARCHITECTURES[arch]
    newest = _GLIBC_MINOR.get(python_version, _GLIBC_MINOR_DEFAULT)
    tags = [f"manylinux2014_{machine}"]
    tags += [f"manylinux_2_{minor}_{machine}" for minor in range(17, newest + 1)]
    return tags


def requirements(extras: tuple[str, ...] = ()) -> list[str]:
    """The base dependencies, and those of each named extra (e.g. librdkafka: confluent-kafka,
    whose manylinux wheels bundle librdkafka, so the zip needs no system library)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional or extra == "test"]
    if unknown:
        choices = ", ".join(sorted(name for name in optional if name != "test"))
        raise BuildError(f"no extra named {unknown[0]!r}; choose from {choices}")
    return list(project["dependencies"]) + [dep for extra in extras for dep in optional[extra]]


def installed_pins() -> list[str]:
    """`name==version` of every distribution beside this interpreter, kafka-beat aside."""
    pins = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in {"kafka-beat", "pip", "setuptools"}:
            pins[name.lower()] = f"{name}=={dist.version}"
    return sorted(pins.values())


def install_dependencies(
    target: Path, python_version: str, arch: str, pin: bool, extras: tuple[str, ...] = ()
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        requirement_file = Path(scratch) / "requirements.txt"
        requirement_file.write_text("\n".join(requirements(extras)) + "\n")
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            "--python-version",
            python_version,
            "--implementation",
            "cp",
            "--only-binary=:all:",
            *[arg for tag in platform_tags(python_version, arch) for arg in ("--platform", tag)],
            "--requirement",
            str(requirement_file),
        ]
        if pin:
            constraints = Path(scratch) / "constraints.txt"
            constraints.write_text("\n".join(installed_pins()) + "\n")
            command += ["--constraint", str(constraints)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        hint = (
            " (a pinned version may have no wheel for this Python; retry with --no-pin)"
            if pin
            else ""
        )
        raise BuildError(
            f"pip could not install the dependencies for Python {python_version} on {arch}"
            f"{hint}:\n{result.stderr.strip()}"
        )


def copy_package(target: Path) -> None:
    shutil.copytree(
        ROOT / "handler", target / "handler", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )


def distribution_versions(target: Path) -> dict[str, str]:
    versions = {}
    for info in sorted(target.glob("*.dist-info")):
        match = re.match(r"(?P<name>.+?)-(?P<version>[^-]+)\.dist-info$", info.name)
        if match:
            versions[match["name"].lower().replace("_", "-")] = match["version"]
    return versions


def git_commit() -> str | None:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or None if result.returncode == 0 else None


def write_zip(source: Path, output: Path) -> int:
    """Zip `source` reproducibly; the unzipped size in bytes."""
    files = sorted(
        path
        for path in source.rglob("*")
        if path.is_file()
        and not _SKIPPED_NAMES.intersection(path.relative_to(source).parts)
        and path.suffix != ".pyc"
    )
    unzipped = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    partial.replace(output)
    return unzipped


def build(
    output: Path, python_version: str, arch: str, pin: bool = True, extras: tuple[str, ...] = ()
) -> dict[str, object]:
    """Build the zip at `output`; what went into it (also stored in the zip as BUILD_INFO)."""
    if arch not in ARCHITECTURES:
        raise BuildError(f"architecture '{arch}' is not a Lambda architecture; use x86_64 or arm64")
    if not re.fullmatch(r"3\.\d+", python_version):
        raise BuildError(f"python version '{python_version}' should look like 3.12")
    newest_glibc = _GLIBC_MINOR.get(python_version, _GLIBC_MINOR_DEFAULT)
    if "librdkafka" in extras and newest_glibc < _LIBRDKAFKA_GLIBC_MINOR:
        raise BuildError(
            f"confluent-kafka's wheels need glibc 2.{_LIBRDKAFKA_GLIBC_MINOR}; the python"
            f"{python_version} runtime has 2.{newest_glibc}: use --python-version 3.12 or later"
        )
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "package"
        install_dependencies(target, python_version, arch, pin, extras)
        copy_package(target)
        info: dict[str, object] = {
            "python_version": python_version,
            "architecture": arch,
            "extras": sorted(extras),
            "platforms": platform_tags(python_version, arch),
            "commit": git_commit(),
            "pinned_to_tested_versions": pin,
            "distributions": distribution_versions(target),
        }
        (target / BUILD_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        unzipped = write_zip(target, output)
    if unzipped > _UNZIPPED_LIMIT:
        raise BuildError(f"{output} unzips to {unzipped} bytes, over Lambda's 250 MB limit")
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return {**info, "zip": str(output), "bytes": output.stat().st_size, "sha256": digest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/build_lambda_zip",
        description="Build the Lambda code zip (handler package + manylinux dependencies).",
    )
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    parser.add_argument(
        "--python-version", default=here, help=f"the runtime's Python, e.g. 3.14 (default {here})"
    )
    parser.add_argument("--arch", default="x86_64", choices=sorted(ARCHITECTURES))
    parser.add_argument("--output", type=Path, help="zip path (default dist/kafka-beat-lambda-…)")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        help="also carry an optional dependency group, e.g. --extra librdkafka "
        "(KAFKA_BEAT_KAFKA_CLIENT=confluent); repeatable",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="take the newest allowed dependency versions instead of the tested ones",
    )
    arguments = parser.parse_args(argv)
    extras = tuple(sorted(set(arguments.extra)))
    suffix = "".join(f"-{extra}" for extra in extras)
    output = arguments.output or (
        ROOT
        / "dist"
        / f"kafka-beat-lambda-py{arguments.python_version}-{arguments.arch}{suffix}.zip"
    )
    try:
        result = build(
            output, arguments.python_version, arguments.arch, not arguments.no_pin, extras
        )
    except BuildError as exc:
        print(f"build_lambda_zip: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: result[k] for k in ("zip", "bytes", "sha256", "python_version")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
