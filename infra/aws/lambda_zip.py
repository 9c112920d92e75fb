"""Build the AWS Lambda code zip: the `handler` package and its dependencies, as manylinux
wheels for the Lambda runtime's Python version and architecture (pydantic-core, orjson,
zstandard and crc32c are compiled, so the wheels must match the runtime, not this machine).

Run through `scripts/build_lambda_zip`; `infra/aws/deploy` calls it for the stack's runtime.
The native encoder goes in as its manylinux2014 abi3 wheel (`scripts/native_wheel.py`, built
with zig for the runtime's architecture, one wheel for every Python it supports); `--no-native`
leaves it out, and the function then encodes with the pure-Python encoder.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
# pyarrow (the parquet extra) ships C++ headers, Cython sources, its own tests and Arrow Flight
# (an RPC framework): none is loaded to write or read Parquet (checked in /proc/self/maps, and
# by the zip test, which writes Parquet from the unpacked zip). About 40 MB of the 230.
_TRIMMED = (
    "pyarrow/include/**/*",
    "pyarrow/includes/**/*",
    "pyarrow/src/**/*",
    "pyarrow/tests/**/*",
    "pyarrow/*flight*",
    "pyarrow/*.pyx",
    "pyarrow/*.pxd",
    "pyarrow/*.pxi",
    "pyarrow/include",
    "pyarrow/includes",
    "pyarrow/src",
    "pyarrow/tests",
)


class BuildError(Exception):
    """The zip could not be built; the message says why and what to change."""


def platform_tags(python_version: str, arch: str) -> list[str]:
    """Wheel platforms that run on the Lambda runtime of this version and architecture."""
    machine = ARCHITECTURES[arch]
    newest = _GLIBC_MINOR.get(python_version, _GLIBC_MINOR_DEFAULT)
    tags = [f"manylinux2014_{machine}"]
    tags += [f"manylinux_2_{minor}_{machine}" for minor in range(17, newest + 1)]
    return tags


def _project() -> dict[str, Any]:
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"])


def _optional() -> dict[str, list[str]]:
    return dict(_project().get("optional-dependencies", {}))


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return match.group(0)


def requirements(extras: Sequence[str] = ()) -> list[str]:
    """The base dependencies and those of the named extras (e.g. `parquet`)."""
    project = _project()
    optional = _optional()
    unknown = sorted(set(extras) - set(optional))
    if unknown:
        raise BuildError(
            f"no extra named {', '.join(unknown)}; pyproject.toml has {', '.join(sorted(optional))}"
        )
    return [*project["dependencies"], *(dep for extra in extras for dep in optional[extra])]


def installed_pins(unpinned: Sequence[str] = ()) -> list[str]:
    """`name==version` of every distribution beside this interpreter, kafka-beat and
    `unpinned` aside."""
    skipped = {"kafka-beat", "pip", "setuptools", *(name.lower() for name in unpinned)}
    pins = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in skipped:
            pins[name.lower()] = f"{name}=={dist.version}"
    return sorted(pins.values())


def install_dependencies(
    target: Path, python_version: str, arch: str, pin: bool, extras: Sequence[str] = ()
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
            # An extra's own packages take the newest version with a wheel for the runtime:
            # pyarrow stopped building for Amazon Linux 2's glibc (python3.11) at 20.
            constraints = Path(scratch) / "constraints.txt"
            own = [_name(dep) for extra in extras for dep in _optional()[extra]]
            constraints.write_text("\n".join(installed_pins(own)) + "\n")
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


def install_native(target: Path, arch: str) -> str:
    """Unpack the native encoder's wheel for `arch` into `target`; its file name."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.native_wheel", "--arch", arch],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(
            f"{result.stderr.strip()}\n(or build the zip without it: --no-native, and the "
            "function encodes with the pure-Python encoder)"
        )
    wheel = Path(result.stdout.strip())
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return wheel.name


def trim(target: Path) -> int:
    """Remove what a run never loads from the installed packages; the bytes removed."""
    removed = 0
    for pattern in _TRIMMED:
        for path in sorted(target.glob(pattern), reverse=True):
            if path.is_file() or path.is_symlink():
                removed += path.lstat().st_size
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return removed


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


def default_zip_path(python_version: str, arch: str, extras: Sequence[str] = ()) -> Path:
    suffix = "".join(f"-{extra}" for extra in sorted(extras))
    return ROOT / "dist" / f"kafka-beat-lambda-py{python_version}-{arch}{suffix}.zip"


def build(
    output: Path,
    python_version: str,
    arch: str,
    pin: bool = True,
    extras: Sequence[str] = (),
    native: bool = True,
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
        native_wheel = install_native(target, arch) if native else None
        trim(target)
        copy_package(target)
        info: dict[str, object] = {
            "python_version": python_version,
            "architecture": arch,
            "platforms": platform_tags(python_version, arch),
            "commit": git_commit(),
            "pinned_to_tested_versions": pin,
            "extras": sorted(extras),
            "native_encoder": native_wheel,
            "distributions": distribution_versions(target),
        }
        (target / BUILD_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        unzipped = write_zip(target, output)
    if unzipped > _UNZIPPED_LIMIT:
        raise BuildError(f"{output} unzips to {unzipped} bytes, over Lambda's 250 MB limit")
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return {
        **info,
        "zip": str(output),
        "bytes": output.stat().st_size,
        "unzipped_bytes": unzipped,
        "sha256": digest,
    }


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
        "--no-pin",
        action="store_true",
        help="take the newest allowed dependency versions instead of the tested ones",
    )
    parser.add_argument(
        "--no-native",
        action="store_true",
        help="leave the native encoder out (no Rust toolchain here): the pure-Python one runs",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        help="an optional extra to include, e.g. parquet (repeat for more)",
    )
    arguments = parser.parse_args(argv)
    output = arguments.output or default_zip_path(
        arguments.python_version, arguments.arch, arguments.extra
    )
    try:
        result = build(
            output,
            arguments.python_version,
            arguments.arch,
            pin=not arguments.no_pin,
            extras=arguments.extra,
            native=not arguments.no_native,
        )
    except BuildError as exc:
        print(f"build_lambda_zip: {exc}", file=sys.stderr)
        return 1
    shown = (
        "zip",
        "bytes",
        "unzipped_bytes",
        "sha256",
        "python_version",
        "extras",
        "native_encoder",
    )
    print(json.dumps({k: result[k] for k in shown}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
