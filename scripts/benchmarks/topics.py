"""Filling the topics: once per broker, with Java's ProducerPerformance."""

from __future__ import annotations

from pathlib import Path

from . import BenchError, progress
from .payloads import payload_file
from .processes import Launcher, child_env
from .services import kafka_tool
from .workloads import Workload

_FILL_TIMEOUT_SECONDS = 1800.0


def topic_records(bootstrap: str, workload: Workload) -> int:
    """Records the topic holds now, creating it (with the workload's partitions and topic
    configs) if missing."""
    from kafka.admin import KafkaAdminClient
    from kafka.consumer import KafkaConsumer
    from kafka.errors import TopicAlreadyExistsError
    from kafka.structs import TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    spec = {
        "num_partitions": workload.partitions,
        "replication_factor": 1,
        "configs": dict(workload.topic_configs),
    }
    try:
        admin.create_topics({workload.topic: spec}, wait_for_metadata=True)
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = consumer.partitions_for_topic(workload.topic) or set()
        if len(partitions) != workload.partitions:
            raise BenchError(
                f"topic {workload.topic} has {len(partitions)} partitions, not "
                f"{workload.partitions}; delete it and run again"
            )
        tps = [TopicPartition(workload.topic, p) for p in sorted(partitions)]
        ends = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        consumer.close()


def fill(bootstrap: str, workload: Workload, work_dir: Path, launcher: Launcher) -> int:
    """Bring the topic up to the workload's record count with Java's ProducerPerformance
    (kafka-python would take minutes for the 4M backlog); returns the records it holds."""
    have = topic_records(bootstrap, workload)
    missing = workload.records - have
    if missing <= 0:
        return have
    payloads = payload_file(workload.payload, workload.records, work_dir)
    progress(f"filling {workload.topic}: {missing:,} records from {payloads.name}")
    command = kafka_tool(
        "ProducerPerformance",
        bootstrap,
        workload.topic,
        missing,
        "--throughput",
        "-1",
        "--payload-file",
        str(payloads),
        "--command-property",
        # Large batches with linger, uncompressed: a busy shipper's batches, and the consumer
        # figures then don't depend on which decompression libraries kafka-python has.
        "acks=1",
        "linger.ms=20",
        "batch.size=262144",
        "compression.type=none",
        "buffer.memory=134217728",
        *workload.producer_properties,
    )
    child = launcher.run(command, child_env(), work_dir, _FILL_TIMEOUT_SECONDS)
    if child.returncode != 0:
        raise BenchError(f"ProducerPerformance failed ({child.returncode}):\n{child.stdout}")
    summary = [line for line in child.stdout.splitlines() if "records sent" in line]
    progress(f"  {summary[-1].strip() if summary else 'done'} ({child.seconds:.0f} s)")
    have = topic_records(bootstrap, workload)
    if have < workload.records:
        raise BenchError(f"{workload.topic} holds {have:,} records after filling")
    return have
