from typing import Any

import pytest

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.errors import SourceError
from handler.kafka.topics import matching_topics, named_topics, require_partitions, select

EXISTING = {"auth", "dns", "logs-a", "logs-b", "logs-a-old"}


def settings(**values: Any) -> Settings:
    return Settings(bootstrap_servers=("127.0.0.1:9092",), group_id="g", **values)


def test_topics_and_partitions_both_name_topics() -> None:
    chosen = settings(topics=("auth", "dns"), partitions="auth:0,dns:1")
    assert named_topics(chosen) == {"auth", "dns"}
    assert named_topics(settings(partitions="auth:0,gone:1")) == {"auth", "gone"}


def test_a_pattern_names_no_topic() -> None:
    assert named_topics(settings(topic_pattern="logs-.*")) == set()
    assert select(settings(topic_pattern="nothing-.*"), EXISTING).missing == []


def test_missing_topics_are_the_named_ones_the_cluster_lacks_sorted() -> None:
    assert select(settings(topics=("zeta", "auth", "alpha")), EXISTING).missing == [
        "alpha",
        "zeta",
    ]
    assert select(settings(partitions="gone:0,auth:1"), EXISTING).missing == ["gone"]
    assert select(settings(topics=("auth",)), EXISTING).missing == []


def test_a_pattern_matches_whole_names_only() -> None:
    chosen = settings(topic_pattern="logs-.")
    assert matching_topics(chosen, EXISTING) == ["logs-a", "logs-b"]
    assert matching_topics(settings(topic_pattern="log"), EXISTING) == []


def test_without_a_pattern_nothing_matches() -> None:
    assert matching_topics(settings(topics=("auth",)), EXISTING) == []


def test_matching_takes_any_topic_names_not_only_existing_ones() -> None:
    vanished = {"logs-x", "other"}
    assert matching_topics(settings(topic_pattern="logs-.*"), vanished) == ["logs-x"]


def test_selected_topics_are_the_existing_ones_by_name_or_pattern() -> None:
    assert select(settings(topics=("dns", "gone", "auth")), EXISTING).topics == ["auth", "dns"]
    assert select(settings(partitions="gone:0,dns:2"), EXISTING).topics == ["dns"]
    assert select(settings(topic_pattern="logs-.*"), EXISTING).topics == [
        "logs-a",
        "logs-a-old",
        "logs-b",
    ]
    assert select(settings(topics=("gone",)), EXISTING).topics == []


def test_explicit_partitions_keep_the_given_order_and_drop_missing_topics() -> None:
    chosen = select(settings(partitions="dns:3,gone:0,auth:1,dns:0"), EXISTING)
    expected = [PartitionRef("dns", 3), PartitionRef("auth", 1), PartitionRef("dns", 0)]
    assert chosen.explicit == expected
    assert chosen.partitions(lambda topics: pytest.fail("assign mode lists no topic")) == expected
    assert select(settings(topics=("auth",)), EXISTING).explicit == []


def test_group_mode_reads_every_partition_of_the_selected_topics() -> None:
    chosen = select(settings(topics=("dns", "auth", "gone")), EXISTING)
    asked: list[list[str]] = []

    def partitions_of(topics: Any) -> list[PartitionRef]:
        asked.append(list(topics))
        return [PartitionRef(topic, 0) for topic in topics]

    assert chosen.partitions(partitions_of) == [PartitionRef("auth", 0), PartitionRef("dns", 0)]
    assert asked == [["auth", "dns"]]


def test_a_selection_without_any_existing_topic_is_refused_naming_them() -> None:
    with pytest.raises(SourceError, match=r"\['gone', 'lost'\] do not exist"):
        select(settings(topics=("lost", "gone")), EXISTING).present_or_refuse()
    present = select(settings(topics=("auth", "gone")), EXISTING)
    assert present.present_or_refuse() is present


def test_an_explicit_partition_the_topic_lacks_is_refused_with_the_ones_it_has() -> None:
    partitions = {"auth": {0, 1}}
    require_partitions([PartitionRef("auth", 1)], lambda topic: partitions[topic])
    with pytest.raises(SourceError, match=r"auth:5 does not exist .*partitions \[0, 1\]"):
        require_partitions([PartitionRef("auth", 5)], lambda topic: partitions[topic])
