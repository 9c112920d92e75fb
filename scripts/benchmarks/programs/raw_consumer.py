"""The raw ceiling: kafka-python's bare consume loop, with nothing of Kafka Beat's processing.

Kafka Beat's consumer, as handler/kafka/source.py builds it (settings at their defaults: 30 s
Kafka timeout, 10 s session) with its poll loop's timeout, in assign mode from the beginning up
to the end offsets seen at start. Run as a script by benchmarks.runs with one argument, JSON:
bootstrap, group, topic, partitions, check_crcs. Prints one JSON line: records, payload_bytes,
seconds, first_fetch_seconds.
"""

import json
import sys
import time

import kafka
from kafka.structs import TopicPartition

# Exactly the options a run uses (handler.kafka.kafka_python.options), CRC checking aside.
from handler.config.settings import Settings
from handler.kafka.kafka_python.options import consumer_options

config = json.loads(sys.argv[1])
options = consumer_options(
    Settings(
        bootstrap_servers=(config["bootstrap"],),
        group_id=config["group"],
        topics=(config["topic"],),
        client_id="kafka-beat-bench-raw",
    )
)
consumer = kafka.KafkaConsumer(**options, check_crcs=config["check_crcs"])
started = time.perf_counter()
tps = [TopicPartition(config["topic"], p) for p in range(config["partitions"])]
consumer.assign(tps)
ends = consumer.end_offsets(tps)
starts = consumer.beginning_offsets(tps)
for tp in tps:
    consumer.seek(tp, starts[tp])
pending = {tp for tp in tps if ends[tp] > starts[tp]}
records = payload = 0
first = None
while pending:
    for tp, batch in consumer.poll(timeout_ms=500).items():
        if first is None:
            first = time.perf_counter()
        records += len(batch)
        payload += sum([len(r.value) for r in batch])
        if batch[-1].offset + 1 >= ends[tp]:
            pending.discard(tp)
            consumer.pause(tp)
finished = time.perf_counter()
consumer.close(autocommit=False)
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
