"""Per-partition checkpoints in storage: where each partition's chain ends, as a hint.

Written (replaced) after every stored object, before the commit. A run starts from the later of
the group's committed offset and the checkpoint, so a group whose offsets expired
(`offsets.retention.minutes`) or were deleted resumes from what storage holds instead of
re-reading or skipping; the chain walk covers the one object a crash may leave after it.
Kept under `{prefix}/_kafka_beat/`, outside the topic folders that query engines read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from handler.chain.links import META_NEXT
from handler.errors import ChainError
from handler.stores.base import Store

STATE_FOLDER = "_kafka_beat"


@dataclass(frozen=True)
class Checkpoint:
    next: int
    key: str
    writer: str
    gaps: tuple[tuple[int, int], ...] = ()
    """Offset ranges [from, to) lost to retention and accepted (on_data_loss=skip)."""


def checkpoint_key(prefix: str, topic: str, partition: int) -> str:
    parts = [prefix.strip("/"), STATE_FOLDER, "checkpoints", topic, f"{partition}.json"]
    return "/".join(part for part in parts if part)


def write_checkpoint(
    store: Store,
    topic: str,
    partition: int,
    next_position: int,
    key: str,
    writer: str,
    gaps: tuple[tuple[int, int], ...] = (),
) -> None:
    body = orjson.dumps(
        {"format": 1, "next": next_position, "key": key, "writer": writer, "gaps": gaps}
    )
    store.replace(checkpoint_key(store.prefix, topic, partition), body)


def read_checkpoint(store: Store, topic: str, partition: int) -> Checkpoint | None:
    key = checkpoint_key(store.prefix, topic, partition)
    data = store.read(key)
    if data is None:
        return None
    try:
        document = orjson.loads(data)
        gaps = tuple((int(start), int(end)) for start, end in document.get("gaps", ()))
        return Checkpoint(
            int(document["next"]), str(document["key"]), str(document["writer"]), gaps
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ChainError(
            f"checkpoint '{key}' cannot be read ({exc}); delete it to resume from the group's "
            "committed offsets (the chain walk still finds every stored object)"
        ) from exc


def verified_checkpoint(store: Store, topic: str, partition: int) -> Checkpoint | None:
    """The checkpoint, once the object it names is confirmed in storage with the same end."""
    checkpoint = read_checkpoint(store, topic, partition)
    if checkpoint is None:
        return None
    head = store.head(checkpoint.key)
    stated = head.metadata.get(META_NEXT) if head and head.metadata else None
    if head is None or (stated is not None and stated != str(checkpoint.next)):
        raise ChainError(
            f"the checkpoint of {topic}:{partition} names '{checkpoint.key}' ending at "
            f"{checkpoint.next}, which storage does not hold; restore the object, or delete "
            "the checkpoint to resume from the group's committed offset"
        )
    return checkpoint


def checkpointed_topics(store: Store) -> set[str]:
    """Topics this destination holds checkpoints for: every topic collected into it so far."""
    parts = [store.prefix.strip("/"), STATE_FOLDER, "checkpoints"]
    folder = "/".join(part for part in parts if part) + "/"
    return {key[len(folder) :].split("/", 1)[0] for key in store.list_keys(folder)}


def manifest_key(prefix: str, run_id: str) -> str:
    """Where a run's manifest goes: by the day it ran (manifests are per run, not per chain)."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    parts = [prefix.strip("/"), STATE_FOLDER, "manifests", f"dt={day}", f"{run_id}.json"]
    return "/".join(part for part in parts if part)
