"""A group member in a process of its own, so a test can freeze it (SIGSTOP) past its session
and thaw it, as a scheduler's frozen container or Lambda is, then have it commit; or have it
wait to join until another run is stopping, and see how soon it is given the partitions.

    python -m tests.support.group_member '<Settings as JSON>' [--waiting N]

Prints `assigned N` once it holds partitions, then per stdin line `commit TOPIC PARTITION
OFFSET` prints `committed`, `rejected: …` (CommitRejected) or `failed: …`. With `--waiting N`
it first prints `ready` (started, not yet in the group), joins the group on the first stdin
line, and prints `assigned N` once it holds N partitions.
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
    wanted = 1
    if sys.argv[2:3] == ["--waiting"]:
        wanted = int(sys.argv[3])
        print("ready", flush=True)
        sys.stdin.readline()
    source.start()
    deadline = time.monotonic() + 60
    while len(source.assignment()) < wanted and time.monotonic() < deadline:
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
