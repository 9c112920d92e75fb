"""Operating Kafka Beat: check, status, dry run and metrics, against the real broker and S3."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kafka.admin import OffsetSpec
from kafka.structs import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from handler.engine.collector import run
from handler.stores.local import LocalStore
from scripts.kafka_broker import free_port
from tests.integration.test_collect import log_lines
from tests.support import runs
from tests.support.fault_proxy import FaultProxy, every
from tests.support.fixtures import over_clients
from tests.support.reconcile import committed, produce, stored_records


def handler(tmp_path, *args: str, **settings: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handler", *args],
        env=runs.environment(**settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def s3_target(bucket_factory, s3_server):
    bucket = bucket_factory()
    return {"destination": f"s3://{bucket}/ops", "s3_endpoint_url": s3_server.endpoint}


def outcomes(stdout: str) -> dict[str, str]:
    return {line.split()[1]: line.split()[0] for line in stdout.splitlines()}


@over_clients
def test_check_passes_every_step(
    kafka_client, topic_factory, producer, bootstrap, tmp_path, s3_target
) -> None:
    topic = topic_factory(partitions=2)
    produce(producer, topic, log_lines(10, 2))
    result = handler(
        tmp_path,
        "check",
        bootstrap_servers=bootstrap,
        group_id="g",
        topics=topic,
        kafka_client=kafka_client,
        **s3_target,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert outcomes(result.stdout) == {
        name: "PASS" for name in ("settings", "destination", "brokers", "topics", "read", "group")
    }
    assert f"answered (client {kafka_client})" in result.stdout
    assert "a record was fetched" in result.stdout


CHECK_FAILURES = [
    ("broker down", "brokers", "no Kafka broker answered"),
    ("missing topic", "topics", "do not exist"),
    ("missing bucket", "destination", "does not exist: create it"),
    ("no write access", "destination", "403 AccessDenied on PutObject: grant s3:PutObject"),
    ("pattern matches nothing", "topics", "matches no topic"),
]
KAFKA_STEPS = ("brokers", "topics")


@pytest.mark.parametrize(
    ("case", "failing", "says", "kafka_client"),
    [(*failure, "kafka-python") for failure in CHECK_FAILURES]
    # confluent: the steps its source answers (the destination's do not touch Kafka).
    + [(*failure, "confluent") for failure in CHECK_FAILURES if failure[1] in KAFKA_STEPS],
)
def test_check_names_the_failing_step(
    case, failing, says, kafka_client, topic_factory, bootstrap, tmp_path, s3_server, bucket_factory
) -> None:
    topic = topic_factory(partitions=1)
    bucket = bucket_factory()
    settings = {
        "bootstrap_servers": bootstrap,
        "group_id": "g",
        "topics": topic,
        "destination": f"s3://{bucket}/ops",
        "s3_endpoint_url": s3_server.endpoint,
        "kafka_timeout_seconds": 3,
        "kafka_client": kafka_client,
    }
    proxy = None
    if case == "broker down":
        settings["bootstrap_servers"] = f"127.0.0.1:{free_port()}"
    elif case == "missing topic":
        settings["topics"] = "no-such-topic"
    elif case == "missing bucket":
        settings["destination"] = "s3://no-such-bucket-at-all/ops"
    elif case == "no write access":
        proxy = FaultProxy(s3_server.port, [every("PUT", r"/ops/", status=403)]).start()
        settings["s3_endpoint_url"] = proxy.endpoint
    else:
        settings["topics"] = None
        settings["topic_pattern"] = "nothing-like-this-.*"
    try:
        result = handler(tmp_path, "check", **settings)
    finally:
        if proxy:
            proxy.stop()
    # A refused permission exits 3 as a run would; any other failed step exits 1.
    assert result.returncode == (3 if case == "no write access" else 1), result.stdout
    line = next(line for line in result.stdout.splitlines() if line.split()[1] == failing)
    assert line.startswith("FAIL") and says in line, result.stdout


@over_clients
def test_status_matches_the_brokers_view(
    kafka_client, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=2)
    produce(producer, topic, log_lines(300, 2))
    settings = {
        "kafka_client": kafka_client,
        "bootstrap_servers": bootstrap,
        "group_id": f"g-{topic}",
        "topics": topic,
        "destination": str(tmp_path / "out"),
    }

    before = json.loads(handler(tmp_path, "status", "--json", **settings).stdout)
    for partition in (0, 1):  # 100 of each partition's 150 records
        runs.run_to_completion(
            tmp_path,
            max_records=100,
            **{**settings, "topics": None},
            partitions=f"{topic}:{partition}",
        )
    admin.delete_records({TopicPartition(topic, 0): 50})
    after = json.loads(handler(tmp_path, "status", "--json", **settings).stdout)
    table = handler(tmp_path, "status", **settings).stdout

    ends = admin.list_partition_offsets(
        {TopicPartition(topic, p): OffsetSpec.LATEST for p in (0, 1)}
    )
    group = committed(admin, f"g-{topic}")
    assert [p["committed"] for p in before["partitions"]] == [None, None]
    assert before["totals"]["lag"] == 300
    for part in after["partitions"]:
        key = (topic, part["partition"])
        assert part["committed"] == group[key] == 100
        assert part["end"] == ends[TopicPartition(*key)].offset == 150
        assert part["lag"] == 50
        assert part["oldest_unconsumed_age_seconds"] is not None
        assert part["last_object"] and part["stored_up_to"] == 100
    headroom = {p["partition"]: p["retention_headroom_records"] for p in after["partitions"]}
    assert headroom == {0: 50, 1: 100}
    assert after["totals"]["min_retention_headroom_records"] == 50
    assert "total lag 100" in table


def test_dry_run_stores_and_commits_nothing(
    topic_factory, producer, settings_factory, admin
) -> None:
    topic = topic_factory(partitions=2)
    produce(producer, topic, log_lines(100, 2))
    settings = settings_factory(topics=(topic,), dry_run=True, max_object_records=20)

    report = run(settings)

    assert report.status == "ok" and report.dry_run and report.records == 100
    assert report.objects == 6 and all(p.objects for p in report.partitions)
    assert not (
        settings.target().path.exists() and stored_records(LocalStore(settings.target().path))
    )
    assert committed(admin, settings.group_id) == {}


def test_prometheus_file_keeps_the_last_success(
    topic_factory, producer, settings_factory, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(40, 1))
    metrics_file = tmp_path / "textfile" / "kafka_beat.prom"
    settings = settings_factory(topics=(topic,), metrics_file=metrics_file, max_records=30)
    run(settings)
    first = families(metrics_file.read_text())
    admin.delete_records({TopicPartition(topic, 0): 35})  # the next run finds data lost
    failed = run(settings.model_copy(update={"max_records": None}))
    second = families(metrics_file.read_text())

    assert first["kafka_beat_last_run_records"] == 30
    assert first["kafka_beat_last_run_failed"] == 0
    assert failed.status == "failed" and second["kafka_beat_last_run_failed"] == 1
    assert (
        second["kafka_beat_last_success_timestamp_seconds"]
        == first["kafka_beat_last_success_timestamp_seconds"]
    )
    assert (
        second["kafka_beat_last_run_timestamp_seconds"]
        >= first["kafka_beat_last_run_timestamp_seconds"]
    )
    assert first["kafka_beat_retention_headroom_records"] == 30
    assert not list(metrics_file.parent.glob(".kafka-beat-*"))  # written aside, then renamed


def families(text: str) -> dict[str, float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = sample.value
    return values


def test_lambda_prints_an_emf_document(
    topic_factory, producer, bootstrap, tmp_path, monkeypatch, capsys
) -> None:
    from handler.lambda_function import lambda_handler
    from tests.integration.test_entry_points import FakeContext

    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(25, 1))
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "BOOTSTRAP_SERVERS": bootstrap,
        "GROUP_ID": f"g-{topic}",
        "TOPICS": topic,
        "DESTINATION": str(tmp_path / "out"),
    }.items():
        monkeypatch.setenv(f"KAFKA_BEAT_{name}", value)

    lambda_handler({}, FakeContext(60_000))

    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "KafkaBeat" and directive["Dimensions"] == [["Group"]]
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert {"Records", "Lag", "RetentionHeadroomRecords", "Failed"} <= names
    assert all(name in document for name in names)
    assert document["Records"] == 25 and document["Group"] == f"g-{topic}"
