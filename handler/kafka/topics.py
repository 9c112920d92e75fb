"""Which topics and partitions the settings select, given the topics the cluster has: the one
place a run, both sources, `check` and `status` take their selection from.

KAFKA_BEAT_TOPICS and KAFKA_BEAT_PARTITIONS name topics, and a named topic the cluster lacks
is missing; KAFKA_BEAT_TOPIC_PATTERN matches whole topic names. Pure functions: the caller
lists the topics (and partitions) the cluster has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.errors import SourceError


def named_topics(settings: Settings) -> set[str]:
    """The topics KAFKA_BEAT_TOPICS and KAFKA_BEAT_PARTITIONS name (none under a pattern)."""
    return set(settings.topics) | {ref.topic for ref in settings.partitions}


def matching_topics(settings: Settings, topics: Iterable[str]) -> list[str]:
    """The `topics` KAFKA_BEAT_TOPIC_PATTERN matches whole, sorted; none without a pattern."""
    if not settings.topic_pattern:
        return []
    pattern = re.compile(settings.topic_pattern)
    return sorted(topic for topic in topics if pattern.fullmatch(topic))


@dataclass(frozen=True)
class Selection:
    """What the settings select among the topics a cluster has."""

    topics: list[str]
    """The existing topics selected, by pattern or by name, sorted."""
    missing: list[str]
    """The named topics the cluster lacks, sorted (none under a pattern)."""
    explicit: list[PartitionRef]
    """The KAFKA_BEAT_PARTITIONS whose topic exists, in the order they were given."""
    assign_mode: bool

    def present_or_refuse(self) -> Selection:
        """This selection; SourceError when none of the named topics exists."""
        if not self.topics:
            raise SourceError(
                f"topics {self.missing} do not exist on the cluster (or this principal may not "
                "DESCRIBE them); create them, grant DESCRIBE and READ, or fix "
                "KAFKA_BEAT_TOPICS / KAFKA_BEAT_PARTITIONS"
            )
        return self

    def partitions(
        self, partitions_of: Callable[[Iterable[str]], list[PartitionRef]]
    ) -> list[PartitionRef]:
        """The partitions a run reads: the explicit ones, or every partition of the topics."""
        return list(self.explicit) if self.assign_mode else partitions_of(self.topics)


def select(settings: Settings, existing: set[str]) -> Selection:
    """The selection of `settings` among the `existing` topics."""
    named = named_topics(settings)
    chosen = matching_topics(settings, existing) if settings.topic_pattern else named & existing
    return Selection(
        topics=sorted(chosen),
        missing=sorted(named - existing),
        explicit=[ref for ref in settings.partitions if ref.topic in existing],
        assign_mode=settings.assign_mode,
    )


def require_partitions(refs: Iterable[PartitionRef], partitions: Callable[[str], set[int]]) -> None:
    """SourceError for the first explicit partition its topic does not have."""
    for ref in refs:
        existing = partitions(ref.topic)
        if ref.partition not in existing:
            raise SourceError(
                f"partition {ref.topic}:{ref.partition} does not exist (the topic has "
                f"partitions {sorted(existing)}); fix KAFKA_BEAT_PARTITIONS"
            )
