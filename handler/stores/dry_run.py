"""A store that reads through to the real destination but writes nothing: `--dry-run`.

Reads still go to the real store, so a dry run adopts what is already stored exactly as a real
run would, and reports what it would have written on top.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from handler.stores.base import NewObject, ObjectHead, PutOutcome, Store


class DryRunStore:
    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.prefix = inner.prefix
        self.would_write: list[str] = []

    def describe(self) -> str:
        return f"{self._inner.describe()} (dry run: nothing written)"

    def check(self) -> None:
        self._inner.check()

    def put_if_absent(self, new: NewObject) -> PutOutcome:
        if self._inner.head(new.key) is not None:
            return PutOutcome.EXISTS
        self.would_write.append(new.key)
        return PutOutcome.CREATED

    def head(self, key: str) -> ObjectHead | None:
        if key in self.would_write:
            # What this dry run "wrote", as the chain would find it.
            return None
        return self._inner.head(key)

    def replace(self, key: str, data: bytes) -> None:
        pass

    def read(self, key: str) -> bytes | None:
        return self._inner.read(key)

    def open(self, key: str) -> IO[bytes]:
        return self._inner.open(key)

    def list_keys(self, prefix: str) -> Iterator[str]:
        return self._inner.list_keys(prefix)
