"""Create a topic on the dev broker and put sample security events in it (JSON log lines, a
few plain-text and binary payloads, tombstones and headers), for trying Kafka Beat locally."""

from __future__ import annotations

import argparse
import json
import random
import time

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import TopicAlreadyExistsError

ACTIONS = ("login", "logout", "sudo", "ssh", "file_read", "dns_query")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", default="demo-events")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--count", type=int, default=10_000)
    arguments = parser.parse_args()

    admin = KafkaAdminClient(bootstrap_servers=arguments.bootstrap)
    try:
        admin.create_topics(
            {arguments.topic: {"num_partitions": arguments.partitions, "replication_factor": 1}},
            wait_for_metadata=True,
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()

    rng = random.Random(1)
    producer = KafkaProducer(bootstrap_servers=arguments.bootstrap, linger_ms=20)
    now_ms = int(time.time() * 1000)
    for index in range(arguments.count):
        host = f"host-{rng.randrange(40):02d}"
        if index % 500 == 499:
            value: bytes | None = None  # a tombstone
        elif index % 100 == 99:
            value = rng.randbytes(24)  # a binary payload
        elif index % 50 == 49:
            value = (
                f"<34>1 sshd[{index}]: Failed password for root from 10.0.0.{index % 255}".encode()
            )
        else:
            event = {
                "@timestamp": now_ms - (arguments.count - index) * 10,
                "host": host,
                "user": f"user{rng.randrange(300)}",
                "action": rng.choice(ACTIONS),
                "outcome": rng.choice(("success", "failure")),
            }
            value = json.dumps(event).encode()
        producer.send(
            arguments.topic, key=host.encode(), value=value, headers=[("source", b"demo")]
        )
    producer.flush()
    producer.close()
    print(f"produced {arguments.count} events to {arguments.topic}")


if __name__ == "__main__":
    main()
