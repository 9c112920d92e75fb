"""A local directory as the destination: the embedded default, so a first run needs no cloud.

Create-only comes from `os.link`, which fails if the name exists: the body is written and
fsynced under a temporary name first, then linked into place in one atomic step.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from handler.errors import StoreError
from handler.stores.base import NewObject, ObjectHead, PutOutcome

_TEMP_DIR = ".kafka-beat-tmp"


class LocalStore:
    prefix = ""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def check(self) -> None:
        try:
            self._temp_dir()
        except OSError as exc:
            raise StoreError(
                f"cannot write to local destination '{self.root}': {exc.strerror}; "
                "fix the directory's permissions or set KAFKA_BEAT_DESTINATION elsewhere"
            ) from exc

    def _temp_dir(self) -> Path:
        temp = self.root / _TEMP_DIR
        _private_dirs(temp)
        return temp

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise StoreError(f"key '{key}' would leave the destination directory")
        return path

    def put_if_absent(self, new: NewObject) -> PutOutcome:
        created = self._place(new.key, new.body, os.link)
        return PutOutcome.CREATED if created else PutOutcome.EXISTS

    def replace(self, key: str, data: bytes) -> None:
        self._place(key, io.BytesIO(data), os.replace)

    def _place(self, key: str, body: IO[bytes], publish: Callable[[Path, Path], None]) -> bool:
        """Write `body` aside, fsynced, then `publish` it under the key in one atomic step;
        False if the name was taken (only `os.link` can find it so)."""
        target = self._path(key)
        temp = self._temp_dir() / f"{uuid.uuid4().hex}.part"
        try:
            _private_dirs(target.parent)
            descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                shutil.copyfileobj(body, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            try:
                publish(temp, target)
            except FileExistsError:
                return False
            _fsync_dir(target.parent)
            return True
        except OSError as exc:
            hint = "free disk space" if exc.errno == errno.ENOSPC else "check the directory"
            raise StoreError(f"cannot write '{target}': {exc.strerror}; {hint}") from exc
        finally:
            temp.unlink(missing_ok=True)

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def head(self, key: str) -> ObjectHead | None:
        try:
            size = self._path(key).stat().st_size
        except FileNotFoundError:
            return None
        return ObjectHead(key=key, size=size, metadata=None)

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self.root.resolve()
        found = []
        for path in base.rglob("*"):
            relative = path.relative_to(base).as_posix()
            if (
                path.is_file()
                and not relative.startswith(_TEMP_DIR)
                and relative.startswith(prefix)
            ):
                found.append(relative)
        yield from sorted(found)


def _private_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents, each 0700 (mkdir's own `parents=True`
    gives the parents default permissions)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another writer made it first: fine
            path.mkdir(mode=0o700)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
