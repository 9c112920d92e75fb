"""The Lambda artifact: the zip from scripts/build_lambda_zip, unpacked into an empty directory,
imported in a fresh interpreter that sees nothing else (no site-packages, no PYTHONPATH, no
working directory), runs lambda_handler against the real broker and the moto S3 server."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

from handler.stores.s3 import S3Store
from tests.integration.test_collect import log_lines
from tests.support.reconcile import committed, produce, reconcile, stored_records

# Runs inside the fresh interpreter (`python -I -S`): only the stdlib and the unpacked zip.
DRIVER = r"""
import json, sys, sysconfig, time

task_root = sys.argv[1]
sys.path.insert(0, task_root)


class Context:
    # Lambda's context: the remaining time counts down from the invocation's start.
    function_name = "kafka-beat"
    aws_request_id = "zip-test"

    def __init__(self, milliseconds):
        self.deadline = time.monotonic() + milliseconds / 1000
        self.asked = 0

    def get_remaining_time_in_millis(self):
        self.asked += 1
        return int((self.deadline - time.monotonic()) * 1000)


from handler.lambda_function import lambda_handler

context = Context(int(sys.argv[3]))
summary = lambda_handler(json.loads(sys.argv[2]), context)
stdlib = sysconfig.get_paths()["stdlib"]
origins = {
    name: module.__file__
    for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
}
print("RESULT " + json.dumps(
    {"summary": summary, "origins": origins, "path": sys.path, "asked": context.asked}
))
"""

LIBRARIES = (
    "handler",
    "kafka",
    "boto3",
    "botocore",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "orjson",
    "zstandard",
    "tenacity",
    "kafka_beat_native",
)


def invoke(
    task_root: Path,
    env: dict[str, str],
    event: dict[str, Any],
    remaining_ms: int,
    python: str = sys.executable,
) -> Any:
    result = subprocess.run(
        [
            python,
            "-I",
            "-S",
            "-c",
            DRIVER,
            str(task_root),
            json.dumps(event),
            str(remaining_ms),
        ],
        env=env,
        cwd=task_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stdout[-2000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def lambda_env(bootstrap: str, topic: str, bucket: str, endpoint: str, **settings: str) -> dict:
    """Lambda's environment: the function's settings and credentials, nothing from this venv."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "KAFKA_BEAT_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_BEAT_GROUP_ID": f"zip-{topic}",
        "KAFKA_BEAT_TOPICS": topic,
        "KAFKA_BEAT_DESTINATION": f"s3://{bucket}/events",
        "KAFKA_BEAT_S3_ENDPOINT_URL": endpoint,
    }
    return env | {f"KAFKA_BEAT_{name.upper()}": value for name, value in settings.items()}


def test_zip_holds_the_package_and_compiled_wheels_for_the_target(lambda_zip) -> None:
    with zipfile.ZipFile(lambda_zip["zip"]) as archive:
        names = archive.namelist()
        info = json.loads(archive.read("kafka_beat_build.json"))
        stamps = {entry.date_time for entry in archive.infolist()}
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    assert "handler/lambda_function.py" in names and "handler/stores/s3.py" in names
    assert any(n.startswith("pydantic_core/_pydantic_core.cpython-" + version) for n in names)
    assert not [n for n in names if "__pycache__" in n or n.startswith("bin/")]
    assert stamps == {(1980, 1, 1, 0, 0, 0)}, "entries carry no build time"
    assert {"boto3", "pydantic-core", "kafka-python"} <= set(info["distributions"])
    assert info["pinned_to_tested_versions"] is True
    # The native encoder: one abi3 wheel for every runtime Python, linked for glibc 2.17.
    assert "abi3-manylinux2014" in info["native_encoder"]
    assert "kafka_beat_native/kafka_beat_native.abi3.so" in names


def test_unpacked_zip_alone_runs_the_lambda_handler(
    lambda_zip,
    tmp_path,
    s3_server,
    s3_client,
    bucket_factory,
    topic_factory,
    producer,
    admin,
    bootstrap,
) -> None:
    task_root = tmp_path / "task"
    task_root.mkdir()
    with zipfile.ZipFile(lambda_zip["zip"]) as archive:
        archive.extractall(task_root)
    bucket = bucket_factory()
    topic = topic_factory(partitions=4)
    group = f"zip-{topic}"
    produced = produce(producer, topic, log_lines(40_000, 4))
    env = lambda_env(bootstrap, topic, bucket, s3_server.endpoint, lambda_margin_seconds="3")

    # 9 s left and a 3 s margin (for storing what is open and committing, on a machine busy
    # with other tests): a 6 s budget, long enough for the start (imports compiled from the
    # zip, the group join) and too short for the backlog at one stored object per 20 records:
    # 2,000 objects, each with its position record, are S3 round trips that no encoder speed
    # shortens (at 200 records an object the native encoder caught up).
    slow = {**env, "KAFKA_BEAT_MAX_OBJECT_RECORDS": "20"}
    short = invoke(task_root, slow, {}, remaining_ms=9_000)
    rest = invoke(task_root, env, {}, remaining_ms=60_000)

    summary = short["summary"]
    assert short["asked"] >= 1
    assert summary["encoder"] == "native" and rest["summary"]["encoder"] == "native"
    assert summary["status"] == "ok" and summary["stop_reason"] == "max_seconds"
    assert 0 < summary["records"] < len(produced)
    assert summary["duration_seconds"] < 9, "the run outlived its invocation"
    assert rest["summary"]["stop_reason"] == "caught_up"
    assert summary["records"] + rest["summary"]["records"] == len(produced)

    stdlib = sysconfig.get_paths()["stdlib"]
    for run in (short, rest):
        assert not [entry for entry in run["path"] if "site-packages" in entry]
        for name, origin in run["origins"].items():
            inside = origin.startswith(str(task_root))
            assert inside or (origin.startswith(stdlib) and "site-packages" not in origin), (
                f"{name} was imported from {origin}, outside the zip and the stdlib"
            )
        for library in LIBRARIES:
            assert run["origins"][library].startswith(str(task_root)), library

    reconcile(produced, stored_records(S3Store(s3_client, bucket, "events"), "events/"))
    ends: dict[tuple[str, int], int] = {}
    for topic_name, partition, offset in produced:
        ends[(topic_name, partition)] = max(ends.get((topic_name, partition), 0), offset + 1)
    assert committed(admin, group) == ends


def test_the_parquet_zip_fits_lambda_and_writes_parquet_from_the_zip_alone(
    parquet_lambda_zip,
    tmp_path,
    s3_server,
    s3_client,
    bucket_factory,
    topic_factory,
    producer,
    bootstrap,
) -> None:
    # Lambda refuses code that unzips to more than 250 MB.
    assert parquet_lambda_zip["unzipped_bytes"] < 250 * 1024 * 1024
    task_root = tmp_path / "task"
    task_root.mkdir()
    with zipfile.ZipFile(parquet_lambda_zip["zip"]) as archive:
        archive.extractall(task_root)
    bucket = bucket_factory()
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, log_lines(5_000, 2))
    env = lambda_env(
        bootstrap,
        topic,
        bucket,
        s3_server.endpoint,
        format="parquet",
        compression="snappy",
        parquet_fields="user:string",
    )

    run = invoke(task_root, env, {}, remaining_ms=60_000)

    assert run["summary"]["status"] == "ok" and run["summary"]["records"] == len(produced)
    assert run["origins"]["pyarrow"].startswith(str(task_root))
    store = S3Store(s3_client, bucket, "events")
    keys = [key for key in store.list_keys("events/") if "/_kafka_beat/" not in key]
    assert keys and all(key.endswith(".parquet") for key in keys)
    reconcile(produced, stored_records(store, "events/"))


def test_zip_with_librdkafka_alone_runs_the_confluent_client(
    lambda_zip_librdkafka,
    librdkafka_python,
    tmp_path,
    s3_server,
    s3_client,
    bucket_factory,
    topic_factory,
    producer,
    admin,
    bootstrap,
) -> None:
    """`--extra librdkafka`: confluent-kafka and the librdkafka its wheel bundles travel in the
    zip, and the unpacked zip alone, under the runtime's Python, collects with them."""
    task_root = tmp_path / "task"
    task_root.mkdir()
    with zipfile.ZipFile(lambda_zip_librdkafka["zip"]) as archive:
        names = archive.namelist()
        info = json.loads(archive.read("kafka_beat_build.json"))
        archive.extractall(task_root)
    assert info["extras"] == ["librdkafka"] and "confluent-kafka" in info["distributions"]
    assert any(n.startswith("confluent_kafka.libs/librdkafka") for n in names)
    bucket = bucket_factory()
    topic = topic_factory(partitions=2)
    group = f"zip-{topic}"
    produced = produce(producer, topic, log_lines(5_000, 2))
    env = lambda_env(bootstrap, topic, bucket, s3_server.endpoint, kafka_client="confluent")

    run = invoke(task_root, env, {}, remaining_ms=60_000, python=librdkafka_python)

    summary = run["summary"]
    assert summary["status"] == "ok" and summary["kafka_client"] == "confluent"
    assert summary["records"] == len(produced) and summary["stop_reason"] == "caught_up"
    assert run["origins"]["confluent_kafka"].startswith(str(task_root))
    assert "kafka" not in run["origins"]  # kafka-python is not even imported
    assert not [entry for entry in run["path"] if "site-packages" in entry]
    reconcile(produced, stored_records(S3Store(s3_client, bucket, "events"), "events/"))
    assert committed(admin, group) == {(topic, 0): 2_500, (topic, 1): 2_500}
