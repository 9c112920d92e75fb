"""A finished object body, whatever its format: what the chain stores and its metadata records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO


@dataclass(frozen=True)
class SealedBody:
    body: IO[bytes]
    """Rewound; closed by whoever stores it."""
    size: int
    sha256: str
    unfit: dict[str, int] = field(default_factory=dict)
    """Per typed Parquet column: values that did not fit its type (the column is null)."""

    def close(self) -> None:
        self.body.close()
