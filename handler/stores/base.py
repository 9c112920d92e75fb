"""The store interface every destination implements.

Writes are create-only: `put_if_absent` either creates the object whole or reports that one
already exists at that key. That single primitive is what makes the chain safe without a lock.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Protocol


class PutOutcome(enum.Enum):
    CREATED = "created"
    EXISTS = "exists"


@dataclass(frozen=True)
class ObjectHead:
    key: str
    size: int
    metadata: Mapping[str, str] | None
    """User metadata stored with the object; None where the store keeps none (the local
    directory), so the chain reads the facts from the content instead."""


@dataclass(frozen=True)
class NewObject:
    """What a create-only write stores."""

    key: str
    body: IO[bytes]
    """Read from where it stands; a write that is retried rewinds it first."""
    size: int
    metadata: Mapping[str, str]
    content_type: str

    @classmethod
    def of_bytes(
        cls, key: str, data: bytes, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> NewObject:
        return cls(key, io.BytesIO(data), len(data), metadata or {}, content_type)


class Store(Protocol):
    prefix: str
    """Key prefix under which this destination keeps every object."""

    def describe(self) -> str:
        """Where objects go, for logs and reports (never a secret)."""
        ...

    def check(self) -> None:
        """Fail fast, before consuming, if the destination cannot be written."""
        ...

    def put_if_absent(self, new: NewObject) -> PutOutcome:
        """Create the object unless one already exists at its key."""
        ...

    def head(self, key: str) -> ObjectHead | None: ...

    def replace(self, key: str, data: bytes) -> None:
        """Write a small bookkeeping object, replacing any previous one (not create-only)."""
        ...

    def read(self, key: str) -> bytes | None:
        """A small object's bytes, or None if there is none."""
        ...

    def open(self, key: str) -> IO[bytes]: ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix`, in lexical order."""
        ...
