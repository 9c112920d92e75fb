from typing import Any

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.kafka.topics import (
    matching_topics,
    missing_topics,
    named_topics,
    present_partitions,
    selected_topics,
)

EXISTING = {"auth", "dns", "logs-a", "logs-b", "logs-a-old"}


def settings(**values: Any) -> Settings:
    return Settings(bootstrap_servers=("127.0.0.1:9092",), group_id="g", **values)


def test_topics_and_partitions_both_name_topics() -> None:
    chosen = settings(topics=("auth", "dns"), partitions="auth:0,dns:1")
    assert named_topics(chosen) == {"auth", "dns"}
    assert named_topics(settings(partitions="auth:0,gone:1")) == {"auth", "gone"}


def test_a_pattern_names_no_topic() -> None:
    assert named_topics(settings(topic_pattern="logs-.*")) == set()
    assert missing_topics(settings(topic_pattern="nothing-.*"), EXISTING) == []


def test_missing_topics_are_the_named_ones_the_cluster_lacks_sorted() -> None:
    chosen = settings(topics=("zeta", "auth", "alpha"))
    assert missing_topics(chosen, EXISTING) == ["alpha", "zeta"]
    assert missing_topics(settings(partitions="gone:0,auth:1"), EXISTING) == ["gone"]
    assert missing_topics(settings(topics=("auth",)), EXISTING) == []


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
    assert selected_topics(settings(topics=("dns", "gone", "auth")), EXISTING) == ["auth", "dns"]
    assert selected_topics(settings(partitions="gone:0,dns:2"), EXISTING) == ["dns"]
    assert selected_topics(settings(topic_pattern="logs-.*"), EXISTING) == [
        "logs-a",
        "logs-a-old",
        "logs-b",
    ]
    assert selected_topics(settings(topics=("gone",)), EXISTING) == []


def test_present_partitions_keep_the_given_order_and_drop_missing_topics() -> None:
    chosen = settings(partitions="dns:3,gone:0,auth:1,dns:0")
    assert present_partitions(chosen, EXISTING) == [
        PartitionRef("dns", 3),
        PartitionRef("auth", 1),
        PartitionRef("dns", 0),
    ]
    assert present_partitions(settings(topics=("auth",)), EXISTING) == []
