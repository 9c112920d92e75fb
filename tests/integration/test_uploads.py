"""Uploads off the consuming thread, against moto's S3 behind a proxy that adds a network's
round trip to every request, so that objects of several partitions are in flight at once and
each partition has objects queued behind the one uploading: killed then, failing then, or
losing a race then, every record is still stored exactly once."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest

from handler.format.layout import position_key
from handler.stores.s3 import S3Store
from tests.integration.test_collect import end_offsets, log_lines
from tests.support import runs
from tests.support.fault_proxy import every, proxied
from tests.support.reconcile import committed, produce, reconcile, stored_records

ROUND_TRIP_SECONDS = 0.03


def most_uploads_running(stderr: str) -> int:
    """The most uploads running at once that the run's "stored object" lines report."""
    running = [0]
    for line in stderr.splitlines():
        if '"stored object"' in line:
            running.append(int(json.loads(line).get("uploads_running", 0)))
    return max(running)


@pytest.fixture
def slow_s3(s3_server, bucket_factory, s3_client):
    """Settings for a bucket reached through the slow proxy, and the bucket's store."""
    bucket = bucket_factory()
    with proxied(s3_server.port, delay_seconds=ROUND_TRIP_SECONDS) as proxy:
        target: dict[str, Any] = {
            "destination": f"s3://{bucket}/up",
            "s3_endpoint_url": proxy.endpoint,
        }
        yield target, S3Store(s3_client, bucket, "up")


def reconciled(store, produced, admin, group) -> None:
    reconcile(produced, stored_records(store, store.prefix))
    assert committed(admin, group) == end_offsets(produced)


@pytest.mark.parametrize("failpoint", ["after_claim:14", "mid_upload:14", "after_store:14"])
def test_killed_with_uploads_in_flight_on_several_partitions(
    failpoint, slow_s3, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    target, store = slow_s3
    topic = topic_factory(partitions=4)
    # 32 objects, 8 a partition: the 14th reach of the step is mid-run with uploads queued.
    produced = produce(producer, topic, log_lines(1280, 4))
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        partitions=f"{topic}:0-3",
        max_object_records=40,
        **target,
    )

    code, summary, stderr = runs.finish(runs.start(tmp_path, failpoint=failpoint, **settings))

    assert code == -signal.SIGKILL and summary is None
    assert most_uploads_running(stderr) >= 2, "no uploads were in flight together"
    runs.catch_up(tmp_path, **settings)
    reconciled(store, produced, admin, f"g-{topic}")


def test_an_upload_failing_with_later_objects_queued_stops_only_its_partition(
    s3_server, s3_client, bucket_factory, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=3)
    produced = produce(producer, topic, log_lines(3000, 3))
    bucket = bucket_factory()
    # Partition 1's object at 200 never stores; the objects after it are queued by then.
    failing = every("PUT", r"(\+|%2B)1(\+|%2B)0{17}200\.jsonl\.gz", status=503)
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        topics=topic,
        destination=f"s3://{bucket}/f",
        max_object_records=100,
        upload_attempts=2,
    )
    with proxied(s3_server.port, [failing], delay_seconds=ROUND_TRIP_SECONDS) as proxy:
        code, summary, stderr = runs.finish(
            runs.start(tmp_path, s3_endpoint_url=proxy.endpoint, **settings)
        )

    assert code == 1 and summary is not None, stderr[-3000:]
    by_partition = {part["partition"]: part for part in summary["partitions"]}
    assert by_partition[1]["status"] == "failed" and by_partition[1]["end_offset"] == 200
    assert {by_partition[p]["status"] for p in (0, 2)} == {"done"}
    store = S3Store(s3_client, bucket, "f")
    # Nothing of partition 1 past the failed object: no object, no claim.
    keys = list(store.list_keys("f/"))
    starts = [int(key.rsplit("+", 1)[1].split(".")[0]) for key in keys if f"{topic}+1+" in key]
    assert starts and max(starts) < 200
    later = [position_key("f", topic, 1, start) for start in range(300, 1001, 100)]
    assert not set(later) & set(keys)
    assert committed(admin, f"g-{topic}")[(topic, 1)] == 200

    runs.catch_up(tmp_path, s3_endpoint_url=s3_server.endpoint, **settings)
    reconciled(store, produced, admin, f"g-{topic}")


def test_a_race_lost_with_later_objects_queued_drops_them_and_adopts(
    slow_s3, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    """A writer pauses in its third upload with more objects queued behind it; another run
    stores everything with other object sizes; the first resumes, loses the race at that
    position, drops what it queued and resumes where the other run's object ends."""
    target, store = slow_s3
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, log_lines(2000, 1))
    settings = dict(
        bootstrap_servers=bootstrap, group_id=f"g-{topic}", partitions=f"{topic}:0", **target
    )
    paused = runs.start(
        tmp_path, failpoint="before_store:3:stop", max_object_records=100, **settings
    )
    runs.wait_until_stopped(paused)

    other = runs.run_to_completion(tmp_path, max_object_records=700, **settings)
    paused.send_signal(signal.SIGCONT)
    code, summary, stderr = runs.finish(paused)

    assert code == 0, stderr[-3000:]
    assert "another writer claimed this chain position first" in stderr
    assert other["records"] > 0 and summary["partitions"][0]["adopted_records"] > 0
    runs.catch_up(tmp_path, **settings)
    reconciled(store, produced, admin, f"g-{topic}")
