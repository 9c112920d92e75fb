"""A group member in a process of its own, so a test can freeze it (SIGSTOP) past its session
and thaw it, as a scheduler's frozen container or Lambda is, then have it commit.

    python -m tests.support.group_member '<Settings as JSON>'

Prints `assigned N` once it holds partitions, then per stdin line `commit TOPIC PARTITION
OFFSET` prints `committed`, `rejected: …` (CommitRejected) or `failed: …`.
"""

from __future__ import annotations

import json
import sys
import time

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.kafka.clients import open_source
from handler.kafka.source import CommitRejected


def main() -> None:
    source = open_source(Settings(**json.loads(sys.argv[1])))
    source.start()
    deadline = time.monotonic() + 60
    while not source.assignment() and time.monotonic() < deadline:
        source.poll(0.2, None)
    print(f"assigned {len(source.assignment())}", flush=True)
    for line in sys.stdin:
        _, topic, partition, offset = line.split()
        try:
            source.commit({PartitionRef(topic, int(partition)): int(offset)}, "frozen-run")
        except CommitRejected as exc:
            print(f"rejected: {exc}", flush=True)
        except Exception as exc:  # reported to the test, which fails on it
            print(f"failed: {type(exc).__name__}: {exc}", flush=True)
        else:
            print("committed", flush=True)
    source.close()


if __name__ == "__main__":
    main()
