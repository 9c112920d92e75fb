"""Per-partition checkpoints in storage: where each partition's chain ends, as a hint.

Written (replaced) after every stored object, before the commit. A run starts from the later of
the group's committed offset and the checkpoint, so a group whose offsets expired
(`offsets.retention.minutes`) or were deleted resumes from what storage holds instead of
re-reading or skipping; the chain walk covers the one object a crash may leave after it.
Kept under `{prefix}/_kafka_beat/`, outside the topic folders that query engines read.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from handler.chain.links import ends_at
from handler.errors import ChainError
from handler.format.layout import checkpoint_key, checkpoints_folder
from handler.stores.base import Store


@dataclass(frozen=True)
class Checkpoint:
    next: int
    key: str
    writer: str
    gaps: tuple[tuple[int, int], ...] = ()
    """Offset ranges [from, to) lost to retention and accepted (on_data_loss=skip)."""


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
    if head is None or not ends_at(head, checkpoint.next):
        raise ChainError(
            f"the checkpoint of {topic}:{partition} names '{checkpoint.key}' ending at "
            f"{checkpoint.next}, which storage does not hold; restore the object, or delete "
            "the checkpoint to resume from the group's committed offset"
        )
    return checkpoint


def checkpointed_topics(store: Store) -> set[str]:
    """Topics this destination holds checkpoints for: every topic collected into it so far."""
    folder = checkpoints_folder(store.prefix)
    return {key[len(folder) :].split("/", 1)[0] for key in store.list_keys(folder)}
