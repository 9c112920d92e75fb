"""Exactly once in storage: runs killed at every step, paused, failing, overlapping — and
afterwards every produced record is stored exactly once and the group's offsets equal the chain
end. Each case ends in a full reconciliation of storage against what was produced.

Every case runs with kafka-python; the confluent client runs a bounded set of the same bodies
(CONFLUENT below), so the whole suite stays within its time on 2 cores."""

from __future__ import annotations

import random
import signal
import time

import pytest
from kafka.structs import TopicPartition

from handler.stores.local import LocalStore
from tests.integration.test_collect import end_offsets, log_lines
from tests.support import runs
from tests.support.destinations import destination_for
from tests.support.reconcile import committed, produce, reconcile, stored_records


@pytest.fixture
def destination(request):
    """Where runs store: the local directory, moto's S3, SeaweedFS, the GCS emulator or
    Azurite; (settings, store)."""
    return destination_for(request.param, request, "eo")


def reconciled(store, produced, admin, group) -> None:
    reconcile(produced, stored_records(store, store.prefix))
    assert committed(admin, group) == end_offsets(produced)


STEPS = [
    "after_open:3",  # records consumed, nothing stored yet
    "before_store:2",  # between two objects of one run
    "mid_upload:2",  # the body half sent
    "after_store:1",  # stored, checkpoint and commit not yet written
    "after_store:3",  # stored, earlier objects committed, this one not
    "before_commit:1",
    "after_commit:1",
]
# GCS and Azure: the steps where what stands in the store differs (a position claimed, an
# object stored but not committed, a commit not made). Not mid_upload: its tripwire fires on
# the body's second read(), and both libraries read a body of one request in a single read()
# before sending it, so the run never reaches it and ends normally.
CLOUD_STEPS = [
    "after_claim:2",
    "before_store:2",
    "after_store:1",
    "after_store:3",
    "before_commit:1",
]


# SeaweedFS: its S3 API, where boto3 sends a body in chunks, so mid_upload is reached.
SEAWEEDFS_STEPS = ["after_claim:2", "mid_upload:2", "after_store:1", "after_store:3"]


# Parquet objects take the same chain.
FORMATS = {"jsonl": {}, "parquet": {"format": "parquet", "compression": "zstd"}}
PY, CK = "kafka-python", "confluent"
AUTO = "auto"  # the native encoder where it is built


@pytest.mark.parametrize(
    ("destination", "failpoint", "object_format", "kafka_client", "encoder"),
    [(kind, step, "jsonl", PY, AUTO) for kind in ("local", "s3") for step in STEPS]
    + [("seaweedfs", step, "jsonl", PY, AUTO) for step in SEAWEEDFS_STEPS]
    + [(kind, step, "jsonl", PY, AUTO) for kind in ("gcs", "azure") for step in CLOUD_STEPS]
    # Parquet: every step on the local store; on S3 the upload cut short and the stored-but-
    # uncommitted object, where S3 differs.
    + [("local", step, "parquet", PY, AUTO) for step in STEPS]
    + [("s3", step, "parquet", PY, AUTO) for step in ("mid_upload:2", "after_store:1")]
    # confluent: every step on the local store, and the mid-upload kill on S3.
    + [("local", step, "jsonl", CK, AUTO) for step in STEPS]
    + [("s3", "mid_upload:2", "jsonl", CK, AUTO)]
    # The pure-Python encoder, the fallback where no native one is built: every step, and
    # Parquet with its rows made in Python, killed mid-upload and after the store.
    + [("local", step, "jsonl", PY, "python") for step in STEPS]
    + [("local", step, "parquet", PY, "python") for step in ("mid_upload:2", "after_store:1")],
    indirect=["destination"],
)
def test_killed_at_a_step_then_rerun(
    failpoint,
    object_format,
    kafka_client,
    encoder,
    destination,
    topic_factory,
    producer,
    bootstrap,
    tmp_path,
    admin,
) -> None:
    target, store = destination
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, log_lines(3000, 2))
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        max_object_records=400,
        **FORMATS[object_format],
        kafka_client=kafka_client,
        encoder=encoder,
        **target,
    )

    # Explicit partitions: a killed group member would hold its partitions for a session
    # timeout; the random-kill test covers group mode.
    code, summary, _ = runs.finish(
        runs.start(tmp_path, failpoint=failpoint, partitions=f"{topic}:0-1", **settings)
    )

    assert code == -signal.SIGKILL and summary is None
    runs.catch_up(tmp_path, topics=topic, **settings)
    reconciled(store, produced, admin, f"g-{topic}")


@pytest.mark.parametrize(
    ("destination", "object_format", "kafka_client"),
    [("s3", "jsonl", PY), ("s3", "parquet", PY), ("s3", "jsonl", CK)],
    indirect=["destination"],
)
def test_random_kills(
    object_format,
    kafka_client,
    destination,
    topic_factory,
    producer,
    bootstrap,
    tmp_path,
    admin,
    request,
) -> None:
    """SIGKILL at random moments (20 trials in CI with kafka-python and JSON lines, a third of
    them writing Parquet, 6 with confluent), new
    records arriving between trials."""
    target, store = destination
    target = {**target, **FORMATS[object_format]}
    rng = random.Random(20261125)
    topic = topic_factory(partitions=4)
    produced = {}
    group = f"g-{topic}"
    kills = 0
    trials = request.config.getoption("--kill-trials")
    # Parquet: a third of the trials; confluent: fewer trials (one in group mode), with more
    # records, as its runs are faster.
    per_trial = 3000
    if object_format == "parquet":
        trials = max(3, trials // 3)
    if kafka_client == CK:
        trials, per_trial = max(5, trials // 5), 12000
    for trial in range(trials):
        # Enough records that a run is still going at the kill (runs got faster since).
        produced |= produce(producer, topic, log_lines(per_trial, 4, seed=trial))
        # Mostly explicit partitions; every fifth trial in group mode, whose killed member the
        # next trial waits out (a session timeout).
        mode = {"topics": topic} if trial % 5 == 4 else {"partitions": f"{topic}:0-3"}
        process = runs.start(
            tmp_path,
            bootstrap_servers=bootstrap,
            group_id=group,
            max_object_records=rng.choice([50, 200, 700]),
            kafka_client=kafka_client,
            **mode,
            **target,
        )
        time.sleep(rng.uniform(0.3, 1.6))
        if process.poll() is None:
            process.kill()
            kills += 1
        runs.finish(process)
    runs.catch_up(
        tmp_path,
        bootstrap_servers=bootstrap,
        group_id=group,
        topics=topic,
        kafka_client=kafka_client,
        **target,
    )
    assert kills >= trials // 3, "too few trials were killed mid-run to prove anything"
    reconciled(store, produced, admin, group)


@pytest.mark.parametrize(
    ("destination", "kafka_client"),
    [(kind, PY) for kind in ("local", "s3", "seaweedfs", "gcs", "azure")] + [("local", CK)],
    indirect=["destination"],
)
def test_paused_writer_adopts_instead_of_overwriting(
    kafka_client, destination, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    """A writer pauses with an object built; another run stores and commits everything; the
    first resumes, finds its position taken, and adopts — no overwrite, no rewind."""
    target, store = destination
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, log_lines(2000, 1))
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        partitions=f"{topic}:0",
        kafka_client=kafka_client,
        **target,
    )
    paused = runs.start(
        tmp_path, failpoint="before_store:2:stop", max_object_records=300, **settings
    )
    runs.wait_until_stopped(paused)

    other = runs.run_to_completion(tmp_path, max_object_records=500, **settings)
    paused.send_signal(signal.SIGCONT)
    code, summary, stderr = runs.finish(paused)

    assert code == 0, stderr
    assert other["records"] == 2000 - 300
    assert summary["records"] == 300 and summary["partitions"][0]["adopted_records"] > 0
    reconciled(store, produced, admin, f"g-{topic}")


@pytest.mark.parametrize("kafka_client", [PY, CK])
@pytest.mark.parametrize("destination", ["local"], indirect=True)
def test_commit_failing_after_upload(
    kafka_client, destination, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    target, store = destination
    topic = topic_factory(partitions=2)
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        topics=topic,
        kafka_client=kafka_client,
        **target,
    )
    runs.run_to_completion(tmp_path, **settings)  # pins the empty partitions at 0
    produced = produce(producer, topic, log_lines(1000, 2))

    code, summary, _ = runs.finish(
        runs.start(tmp_path, failpoint="before_commit:1:error", commit_attempts=1, **settings)
    )

    assert code == 1 and {p["status"] for p in summary["partitions"]} == {"commit_failed"}
    assert committed(admin, f"g-{topic}") == {(topic, 0): 0, (topic, 1): 0}
    rerun = runs.run_to_completion(tmp_path, **settings)
    assert rerun["records"] == 0
    assert [p["start_offset"] for p in rerun["partitions"]] == [500, 500]
    reconciled(store, produced, admin, f"g-{topic}")


@pytest.mark.parametrize(
    ("destination", "kafka_client"),
    [("local", PY), ("s3", PY), ("local", CK)],
    indirect=["destination"],
)
def test_lost_group_offsets_resume_from_storage(
    kafka_client, destination, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    target, store = destination
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, log_lines(1000, 1))
    group = f"g-{topic}"
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=group,
        topics=topic,
        kafka_client=kafka_client,
        **target,
    )
    runs.run_to_completion(tmp_path, max_records=600, max_object_records=250, **settings)
    # The group's offsets expire, and retention moves the log start into the middle of the
    # last stored object: without the checkpoint, the run would start there and store again.
    admin.delete_group_offsets(group, [TopicPartition(topic, 0)])
    admin.delete_records({TopicPartition(topic, 0): 520})
    assert committed(admin, group) == {}

    resumed = runs.run_to_completion(tmp_path, **settings)

    assert resumed["records"] == 400
    assert resumed["partitions"][0]["start_offset"] == 600
    reconcile({k: v for k, v in produced.items()}, stored_records(store, store.prefix))
    assert committed(admin, group) == {(topic, 0): 1000}


@pytest.mark.parametrize("kafka_client", [PY, CK])
def test_broker_killed_and_restarted_in_the_middle_of_a_run(
    kafka_client, tmp_path, tmp_path_factory
) -> None:
    """The broker dies (SIGKILL) and comes back while a run consumes and commits."""
    from kafka import KafkaAdminClient, KafkaProducer

    from scripts.kafka_broker import KafkaBroker

    with KafkaBroker(data_dir=tmp_path_factory.mktemp("restarting")) as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics(
            {"events": {"num_partitions": 2, "replication_factor": 1}}, wait_for_metadata=True
        )
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20)
        produced = produce(producer, "events", log_lines(60_000, 2))
        producer.close()
        settings = dict(
            bootstrap_servers=broker.bootstrap,
            group_id="g",
            topics="events",
            max_object_records=2000,
            destination=str(tmp_path / "out"),
            kafka_client=kafka_client,
        )
        # Paused between two objects (one stored and committed), so the restart lands mid-run.
        process = runs.start(tmp_path, failpoint="before_store:2:stop", **settings)
        runs.wait_until_stopped(process)
        broker.kill()
        process.send_signal(signal.SIGCONT)
        time.sleep(2)  # the run meets a dead broker for a while
        broker.start()
        _, summary, stderr = runs.finish(process)
        assert summary is not None, stderr[-2000:]  # it ended on its own, with a summary
        assert summary["records"] > 0, summary
        runs.catch_up(tmp_path, **settings)
        reconcile(produced, stored_records(LocalStore(tmp_path / "out")))
        # A new admin client: the one from before the restart may still be reconnecting.
        admin.close()
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        assert committed(admin, "g") == end_offsets(produced)
        admin.close()


@pytest.mark.parametrize(
    ("destination", "kafka_client"),
    [("local", PY), ("s3", PY), ("local", CK)],
    indirect=["destination"],
)
def test_compression_changed_after_a_crash(
    kafka_client, destination, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    """The orphan a crashed gzip run left is adopted by a zstd run, not stored again."""
    target, store = destination
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, log_lines(900, 1))
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        partitions=f"{topic}:0",
        max_object_records=300,
        kafka_client=kafka_client,
        **target,
    )
    code, _, _ = runs.finish(runs.start(tmp_path, failpoint="after_store:1", **settings))
    assert code == -signal.SIGKILL

    rerun = runs.run_to_completion(tmp_path, compression="zstd", **settings)

    assert rerun["records"] == 600 and rerun["partitions"][0]["adopted_records"] == 300
    reconciled(store, produced, admin, f"g-{topic}")


@pytest.mark.parametrize("kafka_client", [PY, CK])
def test_isolation_level_changed_between_clean_runs(
    kafka_client, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, log_lines(500, 1))
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        topics=topic,
        max_object_records=100,
        destination=str(tmp_path / "out"),
        kafka_client=kafka_client,
    )
    runs.run_to_completion(
        tmp_path, isolation_level="read_uncommitted", max_records=250, **settings
    )
    produced |= produce(producer, topic, log_lines(200, 1, seed=2))

    runs.catch_up(tmp_path, isolation_level="read_committed", **settings)

    reconciled(LocalStore(tmp_path / "out"), produced, admin, f"g-{topic}")
