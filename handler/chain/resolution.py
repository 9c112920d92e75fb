"""Step 1 of the chain writer (`writer.py`): what stands at a chain position.

The position record first (`positions.py`): the object it names is there (adopt it), or it is
not (its writer died between the two writes, or is still uploading: repair the range). With no
record, a version before position records may have left an object at the computed key, under
any format's or codec's name. Reads only; the writer applies what is found.
"""

from __future__ import annotations

from handler.chain import positions
from handler.chain.config import ChainConfig
from handler.chain.links import ChainLink, ends_at, read_link
from handler.chain.outcomes import Outcome, Step
from handler.config.values import PartitionRef
from handler.errors import ChainError
from handler.format.layout import object_key
from handler.observe.logs import get_logger
from handler.stores.base import Store

log = get_logger()


def standing_at(store: Store, ref: PartitionRef, position: int) -> Outcome:
    """FREE (no position record), REPAIR (`found` names an object never stored), or ADOPTED
    (`found` names a stored object; `resume_at` is its `next`)."""
    record = positions.read_position(store, ref.topic, ref.partition, position)
    if record is None:
        return Outcome(Step.FREE, position)
    head = store.head(record.key)
    if head is None:
        log.info(
            "a position record names an object that was never stored; reading its range again",
            extra={"key": record.key, "start": record.start, "next": record.next},
        )
        return Outcome(Step.REPAIR, position, found=record)
    if not ends_at(head, record.next):
        raise ChainError(
            f"object '{record.key}' ends elsewhere than its position record says "
            f"({record.next}); the run stops. Inspect both (python -m handler decode)"
        )
    return Outcome(Step.ADOPTED, record.next, record.records, key=record.key, found=record)


def legacy_object(
    store: Store, config: ChainConfig, ref: PartitionRef, position: int, event_time: int
) -> ChainLink | None:
    """An object a version before position records left at `position`, looked up at the key
    the first record's time gives, under every format's and codec's name."""
    for extension in config.extensions():
        key = object_key(store.prefix, ref.topic, ref.partition, position, event_time, extension)
        link = read_link(store, key, position, ref.topic, ref.partition)
        if link is not None:
            return link
    return None
