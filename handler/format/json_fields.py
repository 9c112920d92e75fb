"""A field of a JSON value as KAFKA_BEAT_TIME_FIELD and KAFKA_BEAT_PARQUET_FIELDS name it: the
name whole first (`@timestamp`, or `event.created` as one key), then as a dotted path into
nested objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_MISSING = object()


class JsonField:
    def __init__(self, name: str) -> None:
        self.name = name
        self._paths = ((name,), tuple(name.split("."))) if "." in name else ((name,),)

    def candidates(self, document: Any) -> Iterator[Any]:
        """The values the name finds in `document`, whole name first (none when missing)."""
        for path in self._paths:
            found = document
            for part in path:
                if not isinstance(found, dict) or part not in found:
                    found = _MISSING
                    break
                found = found[part]
            if found is not _MISSING:
                yield found

    def find(self, document: Any) -> Any:
        """The first value the name finds, or None when it finds none."""
        return next(self.candidates(document), None)
