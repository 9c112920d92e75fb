"""The run's chain-of-custody record: what it stored, where, with which hashes.

One create-only JSON object per run under the state folder (`format/layout.manifest_key`);
`verify` reads them back to check objects the local directory keeps no metadata for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson

from handler.format.layout import manifest_key
from handler.observe.report import PartitionReport
from handler.stores.base import NewObject, Store


def write_manifest(
    store: Store, run_id: str, partitions: Sequence[tuple[PartitionReport, list[dict[str, object]]]]
) -> str | None:
    """Store the manifest of what each partition stored; its key, or None if nothing was."""
    listed = [(report, stored) for report, stored in partitions if stored or report.dead_letters]
    if not listed:
        return None
    manifest = {
        "format": 1,
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "partitions": [
            {
                "topic": report.topic,
                "partition": report.partition,
                "start_offset": report.start_offset,
                "end_offset": report.end_offset,
                "records": report.records,
                "dead_letters": report.dead_letters,
                "lost_offsets": report.lost_offsets,
                "objects": stored,
            }
            for report, stored in listed
        ],
    }
    body = orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
    key = manifest_key(store.prefix, run_id)
    store.put_if_absent(NewObject.of_bytes(key, body, "application/json"))
    return key
