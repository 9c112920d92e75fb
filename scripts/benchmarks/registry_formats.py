"""Avro log lines to Parquet next to the same events to JSON lines: a whole run (`Collector`)
over an in-memory source, as `own_cost.py` measures one, with the values in Confluent's wire
format (framed by confluent-kafka's own Avro serializer against a real Schema Registry, started
here) and `KAFKA_BEAT_VALUE_FORMAT=avro`. Both runs decode every value under its schema; the
Parquet one also types it into the `value` struct column. Without a broker the ratio is of
Kafka Beat's own work alone, which a client's cost would only dilute.

    .venv/bin/python -m scripts.benchmarks.registry_formats [--records N] [--repeat N]

It prints records/s and CPU µs per record of each, their medians over the repetitions, and the
ratio Parquet ÷ JSON lines (target ≥ 0.7), or with `--json` one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from handler.config.settings import Settings
from handler.engine.budget import Budget
from handler.engine.collector import Collector
from handler.stores.local import LocalStore

from .own_cost import MemoryTopic

LOG_LINE = {
    "type": "record",
    "name": "LogLine",
    "namespace": "bench",
    "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "level", "type": "string"},
        {"name": "service", "type": "string"},
        {"name": "host", "type": "string"},
        {"name": "user", "type": "string"},
        {"name": "src_ip", "type": "string"},
        {"name": "action", "type": "string"},
        {"name": "outcome", "type": "string"},
        {"name": "latency_ms", "type": "int"},
        {"name": "message", "type": "string"},
    ],
}


def avro_framer(registry_url: str) -> Callable[[str], bytes]:
    """The benchmark's log line (JSON text) as the same event in Avro, framed as confluent-kafka
    frames it (the schema registered on first use)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    serialize = AvroSerializer(SchemaRegistryClient({"url": registry_url}), json.dumps(LOG_LINE))
    context = SerializationContext("bench", MessageField.VALUE)

    def frame(text: str) -> bytes:
        event = json.loads(text)
        moment = datetime.fromisoformat(event.pop("@timestamp").replace("Z", "+00:00"))
        framed = serialize({"at": int(moment.timestamp() * 1000), **event}, context)
        assert framed is not None
        return framed

    return frame


def measure(topic: MemoryTopic, registry_url: str, object_format: str) -> dict[str, float]:
    for ref in topic.refs:
        topic.positions.pop(ref, None)
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            bootstrap_servers=("memory:0",),
            group_id="registry-formats",
            partitions=topic.refs,
            destination=directory,
            format=object_format,
            compression="zstd",
            value_format="avro",
            schema_registry_url=registry_url,
        )
        collector = Collector(settings, topic, LocalStore(Path(directory)), Budget())  # type: ignore[arg-type]
        wall, cpu = time.perf_counter(), time.process_time()
        report = collector.run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if report.status != "ok":
        raise RuntimeError(f"the {object_format} run ended {report.status}")
    return {
        "records": report.records,
        "records_per_second": report.records / wall,
        "us_per_record": cpu / report.records * 1e6,
        "bytes_out": report.bytes_out,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.benchmarks.registry_formats", description=__doc__
    )
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--records", type=int, default=25_000, help="per partition")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args(argv)
    from scripts.schema_registry import SchemaRegistry

    with tempfile.TemporaryDirectory() as logs, SchemaRegistry(Path(logs) / "registry.log") as sr:
        topic = MemoryTopic(
            arguments.partitions, arguments.records, "logs", frame=avro_framer(sr.url)
        )
        samples: dict[str, list[dict[str, float]]] = {"jsonl": [], "parquet": []}
        for _ in range(arguments.repeat):
            for object_format, taken in samples.items():  # side by side, alternating
                taken.append(measure(topic, sr.url, object_format))
    medians = {
        name: {
            figure: statistics.median(sample[figure] for sample in taken)
            for figure in ("records_per_second", "us_per_record", "bytes_out")
        }
        for name, taken in samples.items()
    }
    ratio = medians["parquet"]["records_per_second"] / medians["jsonl"]["records_per_second"]
    if arguments.json:
        print(json.dumps({"medians": medians, "parquet_per_jsonl": round(ratio, 3)}))
        return 0
    for name, figures in medians.items():
        print(
            f"avro log lines to {name}: {figures['records_per_second']:,.0f} records/s, "
            f"{figures['us_per_record']:.2f} µs CPU per record, "
            f"{figures['bytes_out']:,.0f} bytes stored"
        )
    print(f"Parquet ÷ JSON lines: {ratio:.2f} (target ≥ 0.7), median of {arguments.repeat}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
