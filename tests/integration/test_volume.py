"""A backlog of 200,000 records in 4 partitions to the S3 endpoint, read back record by record."""

from __future__ import annotations

from handler.engine.collector import run
from handler.stores.s3 import S3Store
from tests.integration.test_collect import end_offsets, log_lines
from tests.support.reconcile import committed, produce, reconcile, stored_records


def test_200k_records_in_4_partitions_to_s3_exactly_once(
    topic_factory, producer, settings_factory, bucket_factory, s3_server, s3_client, admin
) -> None:
    topic = topic_factory(partitions=4)
    produced = produce(producer, topic, log_lines(200_000, 4))
    bucket = bucket_factory()
    settings = settings_factory(
        topics=(topic,),
        destination=f"s3://{bucket}/logs",
        s3_endpoint_url=s3_server.endpoint,
        max_object_records=20_000,
    )

    report = run(settings)

    assert report.status == "ok", report.errors
    assert report.records == 200_000 and report.objects == 12
    reconcile(produced, stored_records(S3Store(s3_client, bucket, "logs"), "logs/"))
    assert committed(admin, settings.group_id) == end_offsets(produced)
