"""The schemas a Parquet object embeds in its footer (`RegistryDecoder.embedded`), read back as
a schema source: `decode` gives back an object's JSON lines without the registry, years after
its schemas may have gone from it, with the very verdicts the run that wrote it reached."""

from __future__ import annotations

import json
from typing import Any

from handler.format.registered import NotDecodable, SchemaDecoder
from handler.registry.client import RegisteredSchema
from handler.registry.decoder import RegistryDecoder


class EmbeddedSchemas:
    def __init__(self, text: str) -> None:
        self._entries: dict[str, dict[str, Any]] = json.loads(text) if text else {}

    def _entry(self, schema_id: int) -> dict[str, Any]:
        entry = self._entries.get(str(schema_id))
        if entry is None:
            # Only an object written by another version could miss one: none of its records
            # decoded under the id when it was written.
            raise NotDecodable(f"schema id {schema_id} is not in the object's footer", 1)
        if "error" in entry:
            raise NotDecodable(str(entry["error"]), entry.get("byte"))
        return entry

    def schema(self, schema_id: int) -> RegisteredSchema:
        entry = self._entry(schema_id)
        return RegisteredSchema(str(entry["type"]), str(entry["schema"]))

    def protobuf_files(self, schema_id: int) -> list[str]:
        return [str(file) for file in self._entry(schema_id).get("files", [])]


def embedded_decoder(text: str) -> SchemaDecoder:
    """The decoder of the schemas a footer embeds."""
    return RegistryDecoder(EmbeddedSchemas(text))
