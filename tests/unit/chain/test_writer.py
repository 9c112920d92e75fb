"""The chain writer over an atomic in-memory store: what it answers at each step, and that the
chain position only ever moves forward."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace

import orjson
import pytest

from handler.chain import positions
from handler.chain.config import ChainConfig
from handler.chain.outcomes import Step
from handler.chain.positions import PositionRecord, Shape
from handler.chain.uploads import UploadPool
from handler.chain.writer import ChainWriter
from handler.config.settings import Settings
from handler.config.values import PartitionRef
from handler.errors import ChainError, TransientError
from handler.failpoints import Failpoints
from handler.format.envelope import Encoded, decode_line
from handler.format.layout import position_key
from handler.record import Record
from handler.stores.local import LocalStore
from tests.support.memory import MemoryStore

REF = PartitionRef("t", 0)
HOUR_2020 = 1_577_836_800_000  # 2020-01-01T00:00Z


def config(**overrides: object) -> ChainConfig:
    values: dict[str, object] = {
        "bootstrap_servers": ("memory:0",),
        "group_id": "g",
        "topics": ("t",),
        "compression": "none",
        "max_object_records": 3,
        **overrides,
    }
    return ChainConfig.from_settings(Settings(**values))  # type: ignore[arg-type]


def writer(
    store: MemoryStore, start: int = 0, run_id: str = "me", **overrides: object
) -> ChainWriter:
    return ChainWriter(REF, store, config(**overrides), run_id, Failpoints(None), start)


def record(offset: int, value: bytes = b'{"ts": "2020-01-01T00:00:00Z"}') -> Record:
    return Record("t", 0, offset, 1_764_000_000_000 + offset, "create", None, value)


def fill(chain: ChainWriter, offsets: range) -> None:
    for offset in offsets:
        encoded = chain.encoder.encode(record(offset))
        if chain.builder is None:
            assert chain.open(encoded.event_time, 1 << 20).step is Step.OPENED
        assert chain.builder is not None
        chain.builder.add(record(offset), encoded)


def claim_of(store: MemoryStore, start: int) -> dict[str, object]:
    data = store.read(position_key(store.prefix, "t", 0, start))
    assert data is not None
    return dict(orjson.loads(data))


def test_stores_claim_then_object_and_moves_to_next() -> None:
    store = MemoryStore()
    chain = writer(store)
    assert chain.resolve().step is Step.FREE
    fill(chain, range(0, 3))
    outcome = chain.store_open()
    assert (outcome.step, outcome.resume_at, outcome.records) == (Step.STORED, 3, 3)
    assert chain.position == 3
    claim = claim_of(store, 0)
    assert (claim["key"], claim["next"], claim["writer"]) == (outcome.key, 3, "me")
    assert store.head(str(outcome.key)) is not None


def test_the_position_never_moves_backwards() -> None:
    chain = writer(MemoryStore(), start=10)
    with pytest.raises(ChainError, match="move back from 10 to 5"):
        chain.skip_to(5)
    assert chain.position == 10


def test_an_object_named_by_a_position_record_is_adopted_whatever_the_settings() -> None:
    store = MemoryStore()
    first = writer(store, time_field="ts")  # its key is in the 2020 folder
    fill(first, range(0, 3))
    stored = first.store_open()
    assert "dt=2020-01-01" in str(stored.key)
    later = writer(store, run_id="later", compression="zstd")  # no time field, another codec
    outcome = later.resolve()
    assert (outcome.step, outcome.resume_at, outcome.records) == (Step.ADOPTED, 3, 3)
    assert later.position == 3


def test_a_claim_without_its_object_is_rebuilt_from_its_range_with_its_own_shape() -> None:
    store = MemoryStore()
    crashed = writer(store, run_id="crashed", time_field="ts", value_format="json")
    fill(crashed, range(0, 3))
    sealed = crashed.builder
    assert sealed is not None
    claimed = PositionRecord(
        "t", 0, 0, sealed.key, 5, 3, "crashed", Shape("auto", "json", "ts", "dead_letter")
    )
    positions.claim(store, claimed)  # ... and died before the data object was written
    crashed.discard()

    repairer = writer(store, run_id="repairer")  # another time field: none
    assert repairer.resolve().step is Step.REPAIR
    assert repairer.shape == claimed.shape
    anything = Encoded(b"{}\n", (), 0, None)
    assert not repairer.ends_before(4, anything) and repairer.ends_before(5, anything)
    fill(repairer, range(0, 3))  # offsets 3 and 4 were compacted away
    outcome = repairer.store_open()
    assert (outcome.step, outcome.resume_at, outcome.key) == (Step.STORED, 5, sealed.key)
    body = store.objects[sealed.key]
    assert body.metadata["kb-next"] == "5"
    assert [decode_line(line).offset for line in io.BytesIO(body.body)] == [0, 1, 2]


def test_a_repair_not_read_whole_is_never_stored() -> None:
    store = MemoryStore()
    claimed = PositionRecord(
        "t", 0, 0, "m/t/x/t+0+00000000000000000000.jsonl", 9, 9, "x", config().shape
    )
    positions.claim(store, claimed)
    chain = writer(store)
    assert chain.resolve().step is Step.REPAIR
    fill(chain, range(0, 4))
    assert chain.flush(fetched_to=4).step is Step.NOTHING
    assert claimed.key not in store.objects
    assert chain.position == 0


def test_a_repair_whose_records_are_all_gone_leaves_an_object_without_lines() -> None:
    store = MemoryStore()
    claimed = PositionRecord(
        "t", 0, 0, "m/t/x/t+0+00000000000000000000.jsonl", 4, 4, "x", config().shape
    )
    positions.claim(store, claimed)
    chain = writer(store)
    assert chain.resolve().step is Step.REPAIR
    outcome = chain.flush(fetched_to=4)
    assert (outcome.step, outcome.resume_at, chain.position) == (Step.STORED, 4, 4)
    stored = store.objects[claimed.key]
    assert stored.body == b"" and stored.metadata["kb-records"] == "0"
    assert stored.metadata["kb-next"] == "4"


def test_losing_the_claim_to_a_shorter_object_resumes_at_its_end() -> None:
    store = MemoryStore()
    winner = writer(store, run_id="winner", max_object_records=2)
    fill(winner, range(0, 2))
    loser = writer(store, run_id="loser")
    fill(loser, range(0, 3))
    assert winner.store_open().step is Step.STORED
    outcome = loser.store_open()
    assert (outcome.step, outcome.resume_at, outcome.records, outcome.adopted) == (
        Step.LOST_RACE,
        2,
        3,
        2,
    )
    assert loser.position == 2 and loser.builder is None
    assert claim_of(store, 0)["writer"] == "winner"


def test_an_object_stored_after_the_position_was_found_free_is_adopted_by_its_record(
    tmp_path,
) -> None:
    """The local directory keeps no metadata: an object's content ends at its last line, but a
    dead letter after it belongs to its range too, which only its position record says. Read
    from the content, the later writer would resume inside the range and store it again."""
    store = LocalStore(tmp_path)
    late = writer(store, run_id="late", value_format="json")
    assert late.resolve().step is Step.FREE  # before the first writer claims the position
    first = writer(store, run_id="first", value_format="json")
    assert first.resolve().step is Step.FREE
    for offset, value in ((0, b'{"a": 1}'), (1, b'{"a": 2}'), (2, b"not json")):
        taken = record(offset, value)
        encoded = first.encoder.encode(taken)
        if first.builder is None:
            first.open(encoded.event_time, 1 << 20)
        if encoded.problems:
            first.add_dead_letter(taken, encoded)
        else:
            first.add(taken, encoded)
    assert first.store_open().step is Step.STORED

    opened = late.open(late.encoder.encode(record(0)).event_time, 1 << 20)

    assert (opened.step, opened.resume_at, late.builder) == (Step.ADOPTED, 3, None)


def test_a_retry_that_finds_its_own_claim_goes_on() -> None:
    store = MemoryStore()
    chain = writer(store)
    fill(chain, range(0, 3))
    assert chain.builder is not None
    key = chain.builder.key
    positions.claim(
        store, PositionRecord("t", 0, 0, key, 3, 3, "me", config().shape)
    )  # the first attempt's answer was lost
    assert chain.store_open().step is Step.STORED
    assert key in store.objects


# -- uploads queued on the pool -------------------------------------------------------------


def queued_writer(store: MemoryStore, pool: UploadPool, run_id: str = "me") -> ChainWriter:
    chosen = replace(config(), uploads=pool)
    return ChainWriter(REF, store, chosen, run_id, Failpoints(None), 0)


def queue_objects(chain: ChainWriter, count: int, size: int = 3) -> None:
    """Fill and queue `count` objects of `size` records, the next one opening meanwhile."""
    for index in range(count):
        assert chain.resolve().step is Step.FREE
        fill(chain, range(chain.head, chain.head + size))
        outcome = chain.store_open()
        assert (outcome.step, outcome.resume_at) == (Step.QUEUED, (index + 1) * size)


class Gate:
    """Holds every put until opened, so that all uploads are queued before any stores."""

    def __init__(self) -> None:
        self.opened = threading.Event()

    def __call__(self, key: str) -> None:
        assert self.opened.wait(10), "the gate was never opened"


def test_queued_uploads_store_in_chain_order_and_the_position_waits_for_them() -> None:
    store, gate = MemoryStore(), Gate()
    store.before_put = gate
    with UploadPool(4) as pool:
        chain = queued_writer(store, pool)
        queue_objects(chain, 3)
        assert (chain.position, chain.head, chain.uploading) == (0, 9, 3)
        assert chain.completed() == []  # nothing stored yet: the position stays
        gate.opened.set()
        outcomes = chain.completed(wait_until=0)
    assert [(o.step, o.resume_at) for o in outcomes] == [(Step.STORED, n) for n in (3, 6, 9)]
    assert chain.position == 9 and chain.uploading == 0
    assert [claim_of(store, start)["next"] for start in (0, 3, 6)] == [3, 6, 9]


def test_an_upload_failing_stores_nothing_queued_behind_it() -> None:
    store, gate = MemoryStore(), Gate()

    def fail_the_second_object(key: str) -> None:
        gate(key)
        if key.endswith("+0+00000000000000000003.jsonl"):
            raise TransientError("injected: the store is down")

    store.before_put = fail_the_second_object
    with UploadPool(4) as pool:
        chain = queued_writer(store, pool)
        queue_objects(chain, 3)
        fill(chain, range(9, 11))  # the next object is open meanwhile
        gate.opened.set()
        outcomes = chain.completed(wait_until=0)
    assert [o.step for o in outcomes] == [Step.STORED, Step.FAILED]
    assert "injected" in (outcomes[1].error or "")
    assert chain.position == 3 and chain.builder is None and chain.uploading == 0
    # Claimed before its object failed (the next run repairs it); nothing after it at all.
    later = [key for key in store.objects if "+0+00000000000000000006" in key or "/6." in key]
    assert not later and not store.objects.get(position_key(store.prefix, "t", 0, 6))


def test_a_lost_race_drops_what_is_queued_behind_and_resumes_at_the_winners_end() -> None:
    store, gate = MemoryStore(), Gate()
    winner = writer(store, start=3, run_id="winner", max_object_records=5)
    fill(winner, range(3, 8))
    assert winner.store_open().step is Step.STORED  # [3, 8) is the winner's
    store.before_put = gate
    with UploadPool(4) as pool:
        chain = queued_writer(store, pool)
        queue_objects(chain, 3)  # [0, 3) then [3, 6) loses, [6, 9) was built on it
        fill(chain, range(9, 10))
        gate.opened.set()
        outcomes = chain.completed(wait_until=0)
    assert [(o.step, o.resume_at) for o in outcomes] == [(Step.STORED, 3), (Step.LOST_RACE, 8)]
    # Dropped: the lost object's 3 records, the queued one's 3 and the open one's 1.
    assert (outcomes[1].records, outcomes[1].adopted) == (7, 5)
    assert (chain.position, chain.head, chain.builder, chain.uploading) == (8, 8, None, 0)
    assert position_key(store.prefix, "t", 0, 6) not in store.objects


def test_a_wait_for_uploads_ends_with_the_time_for_storing_and_settles_only_what_stored() -> None:
    store, gate = MemoryStore(), Gate()

    def hold_all_but_the_first(key: str) -> None:
        if "+0+00000000000000000000" not in key and "/00000000000000000000." not in key:
            gate(key)

    store.before_put = hold_all_but_the_first
    until = time.monotonic() + 0.5  # a stop's grace for storing, as the run gives it
    with UploadPool(4, lambda: until - time.monotonic()) as pool:
        chain = queued_writer(store, pool)
        queue_objects(chain, 3)
        started = time.monotonic()
        outcomes = chain.completed(wait_until=0)
        waited = time.monotonic() - started
        # The first stored; the others still uploading are abandoned: never settled, so the
        # position (what the run commits) stays at what the store confirmed.
        assert [(o.step, o.resume_at) for o in outcomes] == [(Step.STORED, 3)]
        assert (chain.position, chain.uploading) == (3, 2)
        assert waited < 1.5
        assert chain.completed(wait_until=0) == []  # the time is over: no wait at all
        gate.opened.set()
