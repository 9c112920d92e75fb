"""Integrity and chain of custody: manifests, checksums S3 verifies, and `verify`."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import boto3
import orjson
import pytest
from kafka.structs import TopicPartition

from handler.engine.collector import run
from handler.stores.s3 import S3Store
from tests.integration.test_collect import log_lines
from tests.support.fault_proxy import FaultProxy
from tests.support.reconcile import produce


def verify(location: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handler", "verify", "--json", location, *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(params=["local", "s3"])
def stored(
    request, topic_factory, producer, settings_factory, bucket_factory, s3_server, s3_client
):
    """A topic collected into storage: (settings, location, verify flags, s3 client, bucket)."""
    topic = topic_factory(partitions=2)
    produce(producer, topic, log_lines(600, 2))
    if request.param == "local":
        settings = settings_factory(topics=(topic,), max_object_records=100)
        return settings, str(settings.target().path), (), None, None
    bucket = bucket_factory()
    settings = settings_factory(
        topics=(topic,),
        max_object_records=100,
        destination=f"s3://{bucket}/c",
        s3_endpoint_url=s3_server.endpoint,
    )
    return settings, f"s3://{bucket}/c", ("--endpoint-url", s3_server.endpoint), s3_client, bucket


def test_verify_passes_then_catches_tampering_and_missing_objects(stored) -> None:
    settings, location, flags, client, bucket = stored
    report = run(settings)
    assert report.status == "ok" and report.manifest

    healthy = verify(location, *flags)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    audit = json.loads(healthy.stdout)
    assert audit["healthy"] and sum(p["records"] for p in audit["partitions"]) == 600
    assert all(p["first_offset"] == 0 and not p["gaps"] for p in audit["partitions"])

    keys = report.partitions[0].objects
    tampered, removed = keys[0], keys[1]
    if client is None:
        root = settings.target().path
        data = (root / tampered).read_bytes()
        (root / tampered).write_bytes(data[:-9] + bytes(9))  # same size, other bytes
        (root / removed).unlink()
    else:
        head = client.head_object(Bucket=bucket, Key=tampered)
        body = client.get_object(Bucket=bucket, Key=tampered)["Body"].read()
        client.put_object(
            Bucket=bucket, Key=tampered, Body=body[:-9] + bytes(9), Metadata=head["Metadata"]
        )
        client.delete_object(Bucket=bucket, Key=removed)

    broken = verify(location, *flags)
    assert broken.returncode == 1
    partition = next(p for p in json.loads(broken.stdout)["partitions"] if p["partition"] == 0)
    assert tampered in " ".join(partition["hash_mismatches"] + partition["content_errors"])
    assert partition["gaps"] == [[100, 200]]


def test_manifest_lists_every_object_with_its_hash(stored) -> None:
    settings, _, _, client, bucket = stored
    report = run(settings)
    if client is None:
        manifest = orjson.loads((settings.target().path / report.manifest).read_bytes())
    else:
        manifest = orjson.loads(
            client.get_object(Bucket=bucket, Key=report.manifest)["Body"].read()
        )
    listed = {item["key"]: item for part in manifest["partitions"] for item in part["objects"]}
    assert manifest["run_id"] == report.run_id
    assert set(listed) == {key for part in report.partitions for key in part.objects}
    assert all(len(item["sha256"]) == 64 and item["records"] > 0 for item in listed.values())


def test_uploads_carry_the_sha256_for_s3_to_check(
    topic_factory, producer, settings_factory, bucket_factory, s3_server
) -> None:
    """S3 recomputes x-amz-checksum-sha256 and refuses a body that does not match it (moto
    does not check, so this asserts what is sent: the manifest's hash of the stored bytes)."""
    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(300, 1))
    bucket = bucket_factory()
    proxy = FaultProxy(s3_server.port).start()
    try:
        settings = settings_factory(
            topics=(topic,),
            max_object_records=100,
            destination=f"s3://{bucket}/c",
            s3_endpoint_url=proxy.endpoint,
        )
        report = run(settings)
    finally:
        proxy.stop()
    sent = {
        path: headers.get("x-amz-checksum-sha256")
        for method, path, headers in proxy.requests
        if method == "PUT" and ".jsonl" in path
    }
    assert len(sent) == 3 and all(sent.values())
    stored = S3Store(boto3.client("s3", endpoint_url=s3_server.endpoint), bucket, "c")
    for key in report.partitions[0].objects:
        digest = stored.head(key).metadata["kb-sha256"]
        assert base64.b64encode(bytes.fromhex(digest)).decode() in sent.values()


def test_verify_tells_an_accepted_gap_from_a_lost_object(
    topic_factory, producer, settings_factory, admin
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(100, 1))
    settings = settings_factory(topics=(topic,), max_records=10)
    run(settings)
    admin.delete_records({TopicPartition(topic, 0): 50})
    run(settings.model_copy(update={"max_records": None, "on_data_loss": "skip"}))

    result = verify(str(settings.target().path))

    assert result.returncode == 0, result.stdout
    (partition,) = json.loads(result.stdout)["partitions"]
    assert partition["known_gaps"] == [[10, 50]] and partition["gaps"] == []


def test_object_lock_retention_on_write(
    topic_factory, producer, settings_factory, s3_server, s3_client
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(20, 1))
    bucket = f"locked-{topic.lower()}"[:60]
    s3_client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    settings = settings_factory(
        topics=(topic,),
        destination=f"s3://{bucket}/c",
        s3_endpoint_url=s3_server.endpoint,
        s3_object_lock_mode="GOVERNANCE",
        s3_object_lock_days=30,
    )

    report = run(settings)

    assert report.status == "ok", report.errors
    head = s3_client.head_object(Bucket=bucket, Key=report.partitions[0].objects[0])
    assert head["ObjectLockMode"] == "GOVERNANCE"
    days = (head["ObjectLockRetainUntilDate"] - head["LastModified"]).days
    assert 29 <= days <= 30
