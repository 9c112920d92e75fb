"""The raw ceiling of the confluent client: confluent-kafka's bare consume loop, reading each
record's key, value and headers, with nothing of Kafka Beat's processing.

Kafka Beat's librdkafka configuration (handler.kafka.confluent.options.consumer_config, the
settings at their defaults) with the batch size and poll timeout of
handler/kafka/confluent/source.py, in assign mode from the beginning up to the end offsets seen
at start. The same interface as raw_consumer.py (kafka-python): one argument, JSON: bootstrap,
group, topic, partitions (check_crcs is ignored: librdkafka's check.crcs stays off, as in a
run). Prints one JSON line: records, payload_bytes, seconds, first_fetch_seconds.
"""

import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition

from handler.config.settings import Settings
from handler.kafka.confluent.options import consumer_config

config = json.loads(sys.argv[1])
options = consumer_config(
    Settings(
        bootstrap_servers=(config["bootstrap"],),
        group_id=config["group"],
        topics=(config["topic"],),
        client_id="kafka-beat-bench-raw-confluent",
        kafka_client="confluent",
    )
)
consumer = Consumer(options)
started = time.perf_counter()
partitions = range(config["partitions"])
bounds = {
    p: consumer.get_watermark_offsets(TopicPartition(config["topic"], p), 30, False)
    for p in partitions
}
ends = {p: high for p, (_, high) in bounds.items()}
consumer.assign([TopicPartition(config["topic"], p, low) for p, (low, _) in bounds.items()])
pending = {p for p in partitions if ends[p] > bounds[p][0]}
records = payload = 0
first = None
while pending:
    for message in consumer.consume(10_000, 0.5):
        if message.error() is not None:
            continue
        if first is None:
            first = time.perf_counter()
        value, _key, _headers = message.value(), message.key(), message.headers()
        records += 1
        payload += len(value or b"")
        partition = message.partition()
        offset = message.offset()
        if partition in pending and offset is not None and offset + 1 >= ends[partition]:
            pending.discard(partition)
            consumer.pause([TopicPartition(config["topic"], partition)])
finished = time.perf_counter()
consumer.close()
print(
    json.dumps(
        {
            "records": records,
            "payload_bytes": payload,
            "seconds": finished - started,
            "first_fetch_seconds": (first or finished) - started,
        }
    )
)
