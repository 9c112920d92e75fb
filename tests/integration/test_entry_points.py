"""The command line and the Lambda entry, as a scheduler or a person would start them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from handler.errors import ConfigError
from handler.lambda_function import RunFailed, lambda_handler
from handler.stores.local import LocalStore
from scripts.kafka_broker import free_port
from tests.integration.test_collect import log_lines
from tests.support.reconcile import committed, produce, reconcile, stored_records

ROOT = Path(__file__).resolve().parents[2]


def cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_BEAT_")}
    return subprocess.run(
        [sys.executable, "-m", "handler", *args],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_run_prints_one_summary_line_and_exits_0(
    topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, log_lines(500, 2))
    env = {
        "KAFKA_BEAT_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_BEAT_GROUP_ID": f"cli-{topic}",
        "KAFKA_BEAT_TOPICS": topic,
        "KAFKA_BEAT_DESTINATION": str(tmp_path / "out"),
    }

    first = cli(env, "--max-records", "300", cwd=tmp_path)
    second = cli(env, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["status"] == "ok" and summary["records"] == 300
    assert summary["stop_reason"] == "max_records"
    assert all(
        json.loads(line)["run_id"] == summary["run_id"] for line in first.stderr.splitlines()
    )
    assert second.returncode == 0 and json.loads(second.stdout)["records"] == 200
    reconcile(produced, stored_records(LocalStore(tmp_path / "out")))
    assert committed(admin, f"cli-{topic}") == {(topic, 0): 250, (topic, 1): 250}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"KAFKA_BEAT_COMPRESSION": "lz4"}, "KAFKA_BEAT_COMPRESSION: Input should be"),
        ({"KAFKA_BEAT_GROUP_ID": ""}, "KAFKA_BEAT_GROUP_ID: String should have at least 1"),
        ({"KAFKA_BEAT_TOPICS": ""}, "nothing to collect"),
        ({"KAFKA_BEAT_MAX_SECONDS": "-5"}, "KAFKA_BEAT_MAX_SECONDS: Input should be greater"),
        ({"KAFKA_BEAT_DESTINATON": "/tmp/x"}, "did you mean KAFKA_BEAT_DESTINATION"),
    ],
)
def test_bad_config_exits_2_naming_the_variable_before_touching_kafka(
    tmp_path, env, expected
) -> None:
    # Nothing listens on this port: had the run touched Kafka, it would hang, then exit 1.
    base = {
        "KAFKA_BEAT_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "KAFKA_BEAT_GROUP_ID": "g",
        "KAFKA_BEAT_TOPICS": "t",
    }
    result = cli({**base, **env}, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", [[], ["check"]])
def test_confluent_client_without_the_extra_exits_2_saying_what_to_install(
    command, tmp_path
) -> None:
    """As if confluent-kafka were not installed: its import blocked (a None entry in
    sys.modules is how Python marks a module absent) before the entry point runs."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_BEAT_")}
    env = {
        **clean,
        "PYTHONPATH": str(ROOT),
        # Nothing listens here: had the run touched Kafka, it would wait, then exit 1.
        "KAFKA_BEAT_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "KAFKA_BEAT_GROUP_ID": "g",
        "KAFKA_BEAT_TOPICS": "t",
        "KAFKA_BEAT_KAFKA_CLIENT": "confluent",
    }
    blocked = (
        "import sys; sys.modules['confluent_kafka'] = None; sys.argv[1:] = sys.argv[2:]; "
        "import runpy; runpy.run_module('handler', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked, "--", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    said = result.stdout + result.stderr  # `check` reports on stdout, a run on stderr
    assert result.returncode == 2, said
    assert "KAFKA_BEAT_KAFKA_CLIENT: confluent needs the confluent-kafka package" in said
    assert "pip install 'kafka-beat[librdkafka]'" in said
    assert "no Kafka broker answered" not in said


def test_bad_flag_exits_2(tmp_path) -> None:
    result = cli({}, "--max-records", "many", cwd=tmp_path)
    assert result.returncode == 2 and "--max-records: invalid int value" in result.stderr


def test_unreachable_broker_exits_1_saying_what_to_check(tmp_path) -> None:
    env = {
        "KAFKA_BEAT_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "KAFKA_BEAT_GROUP_ID": "g",
        "KAFKA_BEAT_TOPICS": "t",
        "KAFKA_BEAT_KAFKA_TIMEOUT_SECONDS": "3",
        "KAFKA_BEAT_DESTINATION": str(tmp_path / "out"),
    }
    result = cli(env, cwd=tmp_path)
    assert result.returncode == 1
    assert "no Kafka broker answered" in result.stderr
    assert "KAFKA_BEAT_BOOTSTRAP_SERVERS" in result.stderr


def test_missing_bucket_exits_2(s3_server, bootstrap, tmp_path) -> None:
    env = {
        "KAFKA_BEAT_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_BEAT_GROUP_ID": "g",
        "KAFKA_BEAT_TOPICS": "t",
        "KAFKA_BEAT_DESTINATION": "s3://no-such-bucket-here/p",
        "KAFKA_BEAT_S3_ENDPOINT_URL": s3_server.endpoint,
    }
    result = cli(env, cwd=tmp_path)
    assert result.returncode == 2
    assert "bucket 'no-such-bucket-here' does not exist" in result.stderr


def test_missing_topic_exits_1(bootstrap, tmp_path) -> None:
    env = {
        "KAFKA_BEAT_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_BEAT_GROUP_ID": "g",
        "KAFKA_BEAT_TOPICS": "no-such-topic",
        "KAFKA_BEAT_DESTINATION": str(tmp_path / "out"),
    }
    result = cli(env, cwd=tmp_path)
    assert result.returncode == 1
    assert "topics ['no-such-topic'] do not exist" in result.stderr


class FakeContext:
    """The one part of the Lambda context the handler reads."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_env(monkeypatch, bootstrap, tmp_path):
    monkeypatch.chdir(tmp_path)

    def configure(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"KAFKA_BEAT_{name.upper()}", value)

    configure(bootstrap_servers=bootstrap, destination=str(tmp_path / "out"))
    return configure


def test_lambda_handler_runs_within_the_remaining_time(
    lambda_env, topic_factory, producer, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(800, 4))
    lambda_env(group_id=f"lambda-{topic}", topics=topic)

    shard = lambda_handler({"partitions": f"{topic}:0-1"}, FakeContext(90_000))
    rest = lambda_handler({}, FakeContext(90_000))

    assert shard["status"] == "ok" and shard["records"] == 400
    assert rest["status"] == "ok" and rest["records"] == 400
    reconcile(produced, stored_records(LocalStore(tmp_path / "out")))
    assert committed(admin, f"lambda-{topic}") == {(topic, p): 200 for p in range(4)}


def test_lambda_without_enough_time_says_what_to_raise(lambda_env) -> None:
    lambda_env(group_id="g", topics="t")
    with pytest.raises(ConfigError, match="raise the Lambda timeout"):
        lambda_handler({}, FakeContext(15_000))


def test_lambda_failed_run_raises(lambda_env, topic_factory, producer, admin) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(20, 1))
    lambda_env(group_id=f"lambda-{topic}", topics=topic)
    lambda_handler({"max_records": 5}, FakeContext(60_000))
    from kafka.structs import TopicPartition

    admin.delete_records({TopicPartition(topic, 0): 10})
    with pytest.raises(RunFailed, match="deleted by retention"):
        lambda_handler({}, FakeContext(60_000))
