"""The native encoder's wheel (`native/`, Rust with PyO3): built by maturin for a glibc every
runtime Kafka Beat supports has (manylinux2014, glibc 2.17: below Lambda's Amazon Linux 2 and
AL2023 and any current Debian or Ubuntu image), linked with zig (the `ziglang` wheel) so that
this machine's newer glibc does not leak in, abi3 so that one wheel serves Python 3.11 and
later. Cached under ~/.cache/kafka-beat/native by the hash of the crate's sources, like the
Kafka jars: `scripts/setup` installs it, `scripts/build_lambda_zip` puts it in the zip.

    python -m scripts.native_wheel [--arch x86_64|arm64]   # prints the wheel's path
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATE = ROOT / "native"
CACHE = Path.home() / ".cache" / "kafka-beat" / "native"
TARGETS = {"x86_64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}
COMPATIBILITY = "manylinux2014"


class NativeBuildError(Exception):
    """The wheel could not be built; the message says what is missing."""


def sources_digest() -> str:
    """What the wheel is made of: the crate's manifest, lock file, Python metadata and code."""
    digest = hashlib.sha256()
    paths = [CRATE / name for name in ("Cargo.toml", "Cargo.lock", "pyproject.toml")]
    paths += sorted(CRATE.glob("*.pyi")) + sorted((CRATE / "src").rglob("*.rs"))
    for path in paths:
        digest.update(path.relative_to(CRATE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _tool_environment() -> dict[str, str]:
    """PATH with this interpreter's scripts first: maturin finds zig as `python -m ziglang`."""
    scripts = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"}


def _require_target(target: str) -> None:
    if shutil.which("rustup") is None:
        return  # a toolchain without rustup builds for its host only; cargo says so if not
    installed = subprocess.run(
        ["rustup", "target", "list", "--installed"], capture_output=True, text=True, check=False
    ).stdout.split()
    if target in installed:
        return
    added = subprocess.run(
        ["rustup", "target", "add", target], capture_output=True, text=True, check=False
    )
    if added.returncode != 0:
        raise NativeBuildError(
            f"Rust's standard library for {target} is not installed and could not be added "
            f"({added.stderr.strip()}); run `rustup target add {target}`"
        )


def wheel(arch: str = "x86_64") -> Path:
    """The wheel for `arch`, built now unless the cache has it for these sources."""
    if arch not in TARGETS:
        raise NativeBuildError(f"no Lambda architecture {arch!r}; one of {', '.join(TARGETS)}")
    out = CACHE / sources_digest() / arch
    built = sorted(out.glob("kafka_beat_native-*.whl"))
    if built:
        return built[-1]
    if shutil.which("cargo") is None:
        raise NativeBuildError(
            "building the native encoder needs Rust's cargo on PATH (https://rustup.rs); "
            "without it runs use the pure-Python encoder"
        )
    target = TARGETS[arch]
    _require_target(target)
    partial = out.with_name(f"{arch}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "maturin",
        "build",
        "--release",
        "--quiet",
        "--zig",
        "--compatibility",
        COMPATIBILITY,
        "--target",
        target,
        "--interpreter",
        "python3.11",
        "--manifest-path",
        str(CRATE / "Cargo.toml"),
        "--out",
        str(partial),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, env=_tool_environment(), check=False
    )
    if result.returncode != 0:
        raise NativeBuildError(f"maturin could not build the native encoder:\n{result.stderr}")
    if out.exists():  # another build finished first: the same sources, the same wheel
        shutil.rmtree(partial)
    else:
        partial.replace(out)
    return sorted(out.glob("kafka_beat_native-*.whl"))[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.native_wheel", description=__doc__)
    parser.add_argument("--arch", default="x86_64", choices=sorted(TARGETS))
    arguments = parser.parse_args(argv)
    try:
        print(wheel(arguments.arch))
    except NativeBuildError as exc:
        print(f"native_wheel: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
