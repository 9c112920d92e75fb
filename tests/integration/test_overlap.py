"""Overlapping runs of one group — started together, with different budgets, in group mode and
in explicit-partition mode, with either Kafka client or both in one group — converge on one
chain: every record stored exactly once."""

from __future__ import annotations

import pytest

from tests.integration.test_collect import log_lines
from tests.integration.test_exactly_once import reconciled
from tests.support import runs
from tests.support.destinations import destination_for
from tests.support.reconcile import produce


@pytest.fixture
def destination(request):
    """moto's S3 single-threaded (its conditional writes are check-then-act); SeaweedFS, the
    GCS emulator and Azurite as they are: their create-only writes are atomic under
    concurrency (tests/integration/test_store_contract.py races them)."""
    return destination_for(request.param, request, "o", serial_s3=True)


MODES = {
    "group": [{"max_records": 700}, {"max_records": 2500}, {}, {"max_records": 1300}],
    "mixed": [
        {},
        {"max_records": 900},
        {"partitions": "{topic}:0-1"},
        {"partitions": "{topic}:1-3"},
    ],
}


@pytest.fixture(params=["local", "s3"])
def parquet_destination(request):
    target, store = destination_for(request.param, request, "op", serial_s3=True)
    return {**target, "format": "parquet", "compression": "zstd"}, store


# Which client each of the four runs uses: kafka-python for every store and mode; in one case
# the confluent client, and in one the two alternating as members of the same group (both use
# the eager range/roundrobin assignors, so they share a group).
CLIENTS = {
    "kafka-python": ["kafka-python"] * 4,
    "confluent": ["confluent"] * 4,
    "both": ["confluent", "kafka-python"] * 2,
}
CASES = [
    (kind, mode, "kafka-python")
    for kind in ("local", "s3", "seaweedfs", "gcs", "azure")
    for mode in sorted(MODES)
] + [("local", "group", "both"), ("local", "mixed", "confluent")]


@pytest.mark.parametrize(("destination", "mode", "clients"), CASES, indirect=["destination"])
def test_four_runs_started_together(
    mode, clients, destination, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    four_runs_started_together(
        mode, clients, destination, topic_factory, producer, bootstrap, tmp_path, admin
    )


def test_four_runs_started_together_writing_parquet(
    parquet_destination, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    four_runs_started_together(
        "mixed",
        "kafka-python",
        parquet_destination,
        topic_factory,
        producer,
        bootstrap,
        tmp_path,
        admin,
    )


def four_runs_started_together(
    mode, clients, destination, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    target, store = destination
    topic = topic_factory(partitions=4)
    group = f"g-{topic}"
    produced = {}
    adopted = 0
    members: set[str] = set()  # the clients of runs the group gave partitions to
    for round_number in range(3):
        produced |= produce(producer, topic, log_lines(4000, 4, seed=round_number))
        processes = []
        for index, extra in enumerate(MODES[mode]):
            chosen = {
                key: value.format(topic=topic) if isinstance(value, str) else value
                for key, value in extra.items()
            }
            chosen.setdefault("topics", None if "partitions" in chosen else topic)
            processes.append(
                runs.start(
                    tmp_path,
                    bootstrap_servers=bootstrap,
                    group_id=group,
                    max_object_records=150 + 100 * index,
                    kafka_client=CLIENTS[clients][index],
                    **chosen,
                    **target,
                )
            )
        results = [runs.finish(process) for process in processes]
        for code, summary, stderr in results:
            assert summary is not None, stderr[-2000:]
            # Only a refused commit (the group was busy with other members) may fail a run.
            statuses = {part["status"] for part in summary["partitions"]}
            assert code == 0 or statuses <= {"done", "budget", "revoked", "commit_refused"}, stderr[
                -2000:
            ]
            adopted += sum(part["adopted_records"] for part in summary["partitions"])
            if summary["partitions"]:
                members.add(summary["kafka_client"])
    runs.catch_up(
        tmp_path,
        bootstrap_servers=bootstrap,
        group_id=group,
        topics=topic,
        kafka_client=CLIENTS[clients][0],
        **target,
    )
    reconciled(store, produced, admin, group)
    if mode == "mixed":  # explicit partitions overlap each other: someone must have adopted
        assert adopted > 0
    assert members == set(CLIENTS[clients])  # with both, each client's runs held partitions
