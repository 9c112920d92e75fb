"""Which topics and partitions the settings select, given the topics the cluster has.

KAFKA_BEAT_TOPICS and KAFKA_BEAT_PARTITIONS name topics, and a named topic the cluster lacks
is missing; KAFKA_BEAT_TOPIC_PATTERN matches whole topic names. Pure functions: the caller
lists the topics the cluster has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.errors import SourceError


def named_topics(settings: Settings) -> set[str]:
    """The topics KAFKA_BEAT_TOPICS and KAFKA_BEAT_PARTITIONS name (none under a pattern)."""
    return set(settings.topics) | {ref.topic for ref in settings.partitions}


def missing_topics(settings: Settings, existing: set[str]) -> list[str]:
    """The named topics the cluster lacks, sorted."""
    return sorted(named_topics(settings) - existing)


def matching_topics(settings: Settings, topics: Iterable[str]) -> list[str]:
    """The `topics` KAFKA_BEAT_TOPIC_PATTERN matches whole, sorted; none without a pattern."""
    if not settings.topic_pattern:
        return []
    pattern = re.compile(settings.topic_pattern)
    return sorted(topic for topic in topics if pattern.fullmatch(topic))


def selected_topics(settings: Settings, existing: set[str]) -> list[str]:
    """The existing topics the settings select, by pattern or by name, sorted."""
    if settings.topic_pattern:
        return matching_topics(settings, existing)
    return sorted(named_topics(settings) & existing)


def present_partitions(settings: Settings, existing: set[str]) -> list[PartitionRef]:
    """The KAFKA_BEAT_PARTITIONS whose topic exists, in the order they were given."""
    return [ref for ref in settings.partitions if ref.topic in existing]


def present_or_refuse(settings: Settings, existing: set[str]) -> tuple[list[str], list[str]]:
    """(present, missing) of the listed topics; SourceError when none of them exists."""
    missing = missing_topics(settings, existing)
    present = selected_topics(settings, existing)
    if not present:
        raise SourceError(
            f"topics {missing} do not exist on the cluster (or this principal may not "
            "DESCRIBE them); create them, grant DESCRIBE and READ, or fix "
            "KAFKA_BEAT_TOPICS / KAFKA_BEAT_PARTITIONS"
        )
    return present, missing
