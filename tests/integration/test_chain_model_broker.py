"""The model test's rules (tests/unit/engine/test_chain_model.py) with the real broker as the
log, over each client: runs with random budgets, object sizes, codecs, time fields and upload
threads, crashes at any store or commit step, a run overlapping at any upload, offset gaps,
expired group offsets and retention, with the chain invariants checked after every step.

The in-memory model runs hundreds of programs in seconds; these few programs check that what
it models of Kafka is what the clients do: gaps are aborted transactions skipped under
read_committed, retention is DeleteRecords, an expired offset is the group's offsets deleted,
and the end offsets, out-of-range positions and commits are the clients' own. Compaction
stays with the in-memory model and test_records.py (the log cleaner cannot be scheduled).
The store is the in-memory one: crashes are exceptions raised at a put or a commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule, run_state_machine_as_test
from kafka import KafkaProducer
from kafka.errors import CoordinatorNotAvailableError
from kafka.structs import TopicPartition

from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.kafka.clients import open_source
from handler.kafka.source import Source
from tests.support.fixtures import CLIENTS, unique
from tests.support.memory import event_value
from tests.unit.engine.test_chain_model import PARTITIONS, RUN_ARGUMENTS, ChainMachine

# Record timestamps start this far back, so the hours the program moves forward stay in the
# past (a broker may refuse timestamps too far ahead).
_HOURS_BACK = 60


class Produced(NamedTuple):
    offset: int


@dataclass
class Broker:
    bootstrap: str
    client: str
    admin: Any
    producer: KafkaProducer
    programs: list[tuple[int, int, int]] = field(default_factory=list)
    """Per program run: (runs, chain links, records stored), so the test knows it did work."""


class BrokerLog:
    """What the model reads of its log, from a real topic: the records the broker acknowledged,
    the group's committed offsets as the broker holds them, the log start moved by retention."""

    def __init__(self, broker: Broker, topic: str, group: str) -> None:
        self.broker, self.topic, self.group = broker, topic, group
        self.records: dict[int, list[Produced]] = {p: [] for p in range(PARTITIONS)}
        self.log_start = dict.fromkeys(range(PARTITIONS), 0)
        self._transactions = 0

    @property
    def committed(self) -> dict[int, int]:
        for attempt in range(20):
            try:
                answer = self.broker.admin.list_group_offsets({self.group: None})[self.group]
                break
            except CoordinatorNotAvailableError:
                # A group that has never committed: its coordinator is still being found.
                if attempt == 19:
                    raise
                time.sleep(0.25)
        return {
            tp.partition: meta.offset
            for tp, meta in answer.items()
            if tp.topic == self.topic and meta.offset >= 0
        }

    def produce(self, partition: int, count: int, gap: int, timestamp: int) -> None:
        if gap:
            # An aborted transaction: its records and its marker are offsets a read_committed
            # consumer never sees.
            self._transactions += 1
            aborted = KafkaProducer(
                bootstrap_servers=self.broker.bootstrap,
                transactional_id=f"{self.topic}-aborted-{self._transactions}",
            )
            aborted.init_transactions()
            aborted.begin_transaction()
            for _ in range(gap):
                aborted.send(self.topic, b"aborted", key=b"k", partition=partition)
            aborted.abort_transaction()
            aborted.close()
        futures = []
        for n in range(count):
            # The values the in-memory log writes, by position among this partition's records.
            index = len(self.records[partition]) + n
            futures.append(
                self.broker.producer.send(
                    self.topic,
                    event_value(index),
                    key=b"k",
                    partition=partition,
                    timestamp_ms=timestamp + n,
                )
            )
        self.broker.producer.flush()
        self.records[partition] += [Produced(f.get(timeout=30).offset) for f in futures]

    def expire(self) -> None:
        tps = [TopicPartition(self.topic, p) for p in range(PARTITIONS)]
        if self.committed:
            self.broker.admin.delete_group_offsets(self.group, tps)

    def delete_before(self, partition: int, offset: int) -> None:
        self.broker.admin.delete_records({TopicPartition(self.topic, partition): offset})
        self.log_start[partition] = offset


class _CommitHook:
    """The real source, with the model's crash hook called before each commit."""

    def __init__(self, source: Source, on_commit: Callable[[], None]) -> None:
        self._source, self._on_commit = source, on_commit

    def commit(self, offsets: dict[PartitionRef, int], run_id: str) -> None:
        self._on_commit()
        self._source.commit(offsets, run_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


class BrokerChainMachine(ChainMachine):
    def __init__(self, broker: Broker) -> None:
        super().__init__()
        self.broker = broker
        self.topic = unique("model")
        self.group = f"g-{self.topic}"
        broker.admin.create_topics(
            {self.topic: {"num_partitions": PARTITIONS, "replication_factor": 1}},
            wait_for_metadata=True,
        )
        self.refs = [PartitionRef(self.topic, p) for p in range(PARTITIONS)]
        self.log = BrokerLog(broker, self.topic, self.group)
        self.clock = int(time.time() * 1000) - _HOURS_BACK * 3_600_000
        self.opened: list[Source] = []

    def where(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.broker.bootstrap,
            "group_id": self.group,
            "partitions": self.refs,
            "kafka_client": self.broker.client,
            "kafka_timeout_seconds": 15,
        }

    def source(self, config: Settings, batch: int, on_commit: Callable[[], None]) -> Any:
        # batch: the real clients choose their own.
        source = open_source(config)
        self.opened.append(source)
        return _CommitHook(source, on_commit)

    @initialize()
    def first_records_and_run(self) -> None:
        """Every program starts with records in both partitions and a run over them, so none
        is empty (the rules then draw what follows)."""
        for partition in range(PARTITIONS):
            self.produce(partition, count=8, gap=partition, hours_later=0)
        self.run(max_object_records=5, max_records=None, batch=10, crash=None, overlap=None)

    @rule(
        partition=st.integers(0, PARTITIONS - 1),
        count=st.integers(1, 30),
        gap=st.integers(0, 3),
        run=st.fixed_dictionaries(RUN_ARGUMENTS),
    )
    def produce_then_run(self, partition: int, count: int, gap: int, run: dict[str, Any]) -> None:
        """Records, then a run at once: a program with few steps still reads new records."""
        self.produce(partition, count=count, gap=gap, hours_later=1)
        self.run(**run)

    # The log cleaner cannot be scheduled on a real broker: compaction is the in-memory
    # model's (and test_records.py's); without the rule decorator this is no step.
    def compact(self, partition: int, seed: int) -> None:  # type: ignore[override]
        raise AssertionError("not a step of this machine")

    def teardown(self) -> None:
        for source in self.opened:
            source.close()
        links = [link for p in range(PARTITIONS) for link in self.chain(p)]
        self.broker.programs.append((len(self.opened), len(links), sum(len(o) for *_, o in links)))


@pytest.mark.parametrize("kafka_client", CLIENTS)
def test_chain_invariants_hold_over_the_real_broker(
    kafka_client, bootstrap, admin, producer
) -> None:
    broker = Broker(bootstrap, kafka_client, admin, producer)
    run_state_machine_as_test(
        lambda: BrokerChainMachine(broker),
        settings=settings(
            # The same programs in every CI run (the in-memory model draws new ones each time):
            # a bounded check against the real clients, reproducible when it fails.
            derandomize=True,
            max_examples=5,
            stateful_step_count=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(f"{kafka_client}: (runs, links, records stored) per program: {broker.programs}")
    # Beyond the first run of each program: later runs stored records produced after it.
    assert any(runs > 1 and records > 16 for runs, _, records in broker.programs), broker.programs
