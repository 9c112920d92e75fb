"""Model-based test of the run's ordering rules (hypothesis state machine).

Random interleavings of: producing (with offset gaps), runs with random budgets and object
sizes, crashes at any store or commit step, a second run overlapping at any upload, expired group
offsets and retention. After every step the chain invariants must hold: objects laid end to
end (`start[i+1] == next[i]`), metadata matching content, every produced record below the chain
end stored exactly once, and the committed offset a chain position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from handler.chain.checkpoints import read_checkpoint
from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.engine.budget import Budget
from handler.engine.collector import Collector
from handler.format.layout import dead_letters_key
from handler.format.reading import stored_records
from tests.support.memory import Crash, MemoryLog, MemorySource, MemoryStore

PARTITIONS = 2
REFS = [PartitionRef("t", p) for p in range(PARTITIONS)]


def make_settings(
    max_object_records: int,
    max_records: int | None,
    compression: str = "none",
    time_field: str | None = None,
    upload_threads: int = 0,
    **where: Any,
) -> Settings:
    """A run's settings; `where` names another log (bootstrap, group, partitions, client)."""
    values: dict[str, Any] = {
        "bootstrap_servers": ("memory:0",),
        "group_id": "g",
        "partitions": REFS,
        **where,
    }
    return Settings(
        upload_threads=upload_threads,
        compression=compression,
        time_field=time_field,
        value_format="json",
        max_object_records=max_object_records,
        max_records=max_records,
        **values,
    )


def _nothing() -> None:
    pass


def crash_on(count: int) -> Callable[[str], None]:
    calls = {"n": 0}

    def hook(_: str = "") -> None:
        calls["n"] += 1
        if calls["n"] == count:
            raise Crash

    return hook


RUN_ARGUMENTS = dict(
    max_object_records=st.integers(1, 12),
    max_records=st.one_of(st.none(), st.integers(1, 40)),
    batch=st.integers(1, 25),
    crash=st.one_of(
        st.none(),
        st.tuples(st.sampled_from(["before_put", "after_put", "commit"]), st.integers(1, 4)),
    ),
    overlap=st.one_of(
        st.none(),
        st.tuples(
            st.integers(1, 4),
            st.integers(1, 12),
            st.one_of(st.none(), st.integers(1, 40)),
            st.sampled_from([None, "ts"]),
        ),
    ),
    compression=st.sampled_from(["none", "gzip", "zstd"]),
    time_field=st.sampled_from([None, "ts"]),
    upload_threads=st.sampled_from([0, 2]),
)
"""A run's drawn settings: budgets, object sizes, codecs, time fields, upload threads, a crash
at the n-th put or commit, a run overlapping at the n-th put."""


class ChainMachine(RuleBasedStateMachine):
    topic = "t"
    """Its one topic's name; the chain's keys and the invariants use it."""

    def __init__(self) -> None:
        super().__init__()
        self.log: Any = MemoryLog(PARTITIONS)
        self.store = MemoryStore()
        self.clock = 0
        self.compression = "none"
        self.time_field: str | None = None
        # 0: objects stored on the consuming thread; 2: on upload threads, a partition's
        # later objects queued behind the one in flight (where crashes and races then hit).
        self.upload_threads = 0
        self.removed: dict[int, set[int]] = {p: set() for p in range(PARTITIONS)}

    def collector(
        self,
        max_object_records: int,
        max_records: int | None,
        batch: int,
        on_commit: Callable[[], None] = lambda: None,
    ) -> Collector:
        config = make_settings(
            max_object_records,
            max_records,
            self.compression,
            self.time_field,
            self.upload_threads,
            **self.where(),
        )
        source = self.source(config, batch, on_commit)
        return Collector(config, source, self.store, Budget(max_records=max_records))

    def where(self) -> dict[str, Any]:
        """The log a run reads (make_settings' bootstrap, group, partitions): the memory one."""
        return {}

    def source(self, config: Settings, batch: int, on_commit: Callable[[], None]) -> Any:
        return MemorySource(self.log, REFS, batch, on_commit)

    @rule(
        partition=st.integers(0, PARTITIONS - 1),
        count=st.integers(1, 30),
        gap=st.integers(0, 3),
        hours_later=st.integers(0, 2),
    )
    def produce(self, partition: int, count: int, gap: int, hours_later: int) -> None:
        self.clock += hours_later * 3_600_000
        self.log.produce(partition, count, gap, self.clock)
        self.clock += count

    @rule(**RUN_ARGUMENTS)
    def run(
        self,
        max_object_records,
        max_records,
        batch,
        crash,
        overlap,
        compression="none",
        time_field=None,
        upload_threads=0,
    ) -> None:
        """A run, with settings that shape keys and objects drawn anew (after a crash too)."""
        self.compression, self.time_field = compression, time_field
        self.upload_threads = upload_threads
        on_commit: Callable[[], None] = _nothing
        if crash and crash[0] == "before_put":
            self.store.before_put = crash_on(crash[1])
        elif crash and crash[0] == "after_put":
            self.store.after_put = crash_on(crash[1])
        elif crash:
            on_commit = crash_on(crash[1])
        if overlap and not crash:
            self.store.before_put = self.overlapping_run(*overlap)
        crashed = False
        try:
            self.collector(max_object_records, max_records, batch, on_commit).run()
        except Crash:
            crashed = True  # the process died mid-run; the invariants judge what it left behind
        finally:
            self.store.before_put = self.store.after_put = lambda key: None
        if not crashed and max_records is None:
            self.caught_up()

    def caught_up(self) -> None:
        """A run that ended without a crash or a record budget stored everything produced
        before it (what is in the log now; retention never passes what is stored)."""
        for partition in range(PARTITIONS):
            stored = {offset for _, _, offsets in self.chain(partition) for offset in offsets}
            produced = {r.offset for r in self.log.records[partition]}
            assert produced <= stored | self.removed[partition], (
                f"p{partition}: a run ended without a crash or a budget, yet "
                f"{sorted(produced - stored)} are not stored"
            )

    def overlapping_run(
        self, at: int, max_object_records: int, max_records: int | None, time_field: str | None
    ):
        calls = {"n": 0}

        def hook(_: str) -> None:
            calls["n"] += 1
            if calls["n"] == at:
                outer, ours = self.store.before_put, self.time_field
                self.store.before_put = lambda key: None
                self.time_field = time_field  # the other run may have other settings
                self.collector(max_object_records, max_records, 7).run()
                self.store.before_put, self.time_field = outer, ours

        return hook

    @rule(partition=st.integers(0, PARTITIONS - 1), seed=st.integers(0, 2**16))
    def compact(self, partition: int, seed: int) -> None:
        """The log cleaner removes records from anywhere, stored or not (the first record of an
        orphan included), as compaction does to superseded keys."""
        self.removed[partition] |= self.log.compact(
            partition, lambda offset: (offset * 7919 + seed) % 5 != 0
        )

    @rule()
    def expire_group_offsets(self) -> None:
        self.log.expire()

    @rule(partition=st.integers(0, PARTITIONS - 1), fraction=st.floats(0, 1))
    def retention(self, partition: int, fraction: float) -> None:
        """Delete old records, never past what the group and the checkpoint say is stored."""
        checkpoint = read_checkpoint(self.store, self.topic, partition)
        limit = checkpoint.next if checkpoint else 0
        committed = self.log.committed  # one read: the broker's log asks the broker
        if partition in committed:
            limit = min(limit, committed[partition])
        start = self.log.log_start[partition]
        if limit > start:
            self.log.delete_before(partition, start + int((limit - start) * fraction))

    def chain(self, partition: int) -> list[tuple[int, int, list[int]]]:
        """The partition's links: each data object with the records of its range (its lines and
        its companion's dead letters)."""
        links = []
        claims = f"m/_kafka_beat/positions/{self.topic}/{partition}/"
        named = {
            orjson.loads(self.store.objects[key].body)["key"]
            for key in self.store.list_keys(claims)
        }
        live = {r.offset for r in self.log.records[partition]}
        ours = f"{self.topic}+{partition}+"
        for key, stored in self.store.objects.items():
            if "_kafka_beat" in key or "_dead_letter" in key or ours not in key:
                continue
            offsets = self.offsets_in(key)
            meta = stored.metadata
            start, nxt = int(meta["kb-start"]), int(meta["kb-next"])
            assert int(meta["kb-records"]) == len(offsets), key
            # The range's invalid records: in its one companion object, none anywhere else.
            letters = self.offsets_in(dead_letters_key(key))
            assert int(meta.get("kb-dead-letters", 0)) == len(letters), key
            taken = sorted(offsets + letters)
            if not taken:  # a repair that found its whole range compacted away
                assert key in named and not any(start <= o < nxt for o in live), key
                links.append((start, nxt, taken))
                continue
            assert taken == sorted(set(taken)) and taken[-1] + 1 <= nxt, key
            # Only a repair may end past its last record: where compaction took the range's tail.
            assert taken[-1] + 1 == nxt or key in named, key
            assert start <= taken[0], key
            links.append((start, nxt, taken))
        return sorted(links)

    def offsets_in(self, key: str) -> list[int]:
        if key not in self.store.objects:
            return []
        return [record.offset for record in stored_records(key, self.store.open(key))]

    @invariant()
    def chain_is_whole(self) -> None:
        for partition in range(PARTITIONS):
            links = self.chain(partition)
            position = 0
            stored: list[int] = []
            for start, nxt, offsets in links:
                assert start == position, f"p{partition}: gap or overlap at {position}: {links}"
                position = nxt
                stored.extend(offsets)
            assert len(stored) == len(set(stored)), f"p{partition}: stored twice: {stored}"
            produced = [r.offset for r in self.log.records[partition] if r.offset < position]
            removed = self.removed[partition]
            # Nothing lost but what compaction removed, and nothing stored that was not produced.
            assert set(produced) <= set(stored), f"p{partition}: {produced} not all in {stored}"
            assert set(stored) <= set(produced) | removed, f"p{partition}: {stored} ⊄ {produced}"
            committed = self.log.committed.get(partition)
            positions = {0} | {nxt for _, nxt, _ in links}
            assert committed is None or committed in positions, (committed, positions)
            checkpoint = self.store.read(f"m/_kafka_beat/checkpoints/{self.topic}/{partition}.json")
            if checkpoint is not None:
                assert orjson.loads(checkpoint)["next"] in positions


def test_losing_a_race_to_a_shorter_object_reads_its_records_again() -> None:
    """The winner of a position holds fewer records than the loser had built: the loser must
    store the difference itself, starting exactly at the winner's end."""
    machine = ChainMachine()
    machine.produce(partition=0, count=10, gap=0, hours_later=0)
    machine.run(
        max_object_records=6, max_records=None, batch=10, crash=None, overlap=(1, 2, 2, None)
    )  # at the first upload, a run with a 2-record budget wins
    links = machine.chain(0)
    assert [(start, nxt) for start, nxt, _ in links] == [(0, 2), (2, 8), (8, 10)]
    machine.chain_is_whole()


ChainMachine.TestCase.settings = settings(
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestChainModel = ChainMachine.TestCase
