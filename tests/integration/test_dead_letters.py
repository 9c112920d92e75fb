"""Dead letters batched: the invalid records of each data object's range in one companion
object, exactly once across data and dead letters through kills at every step, overlapping runs
with other rotation sizes, and half a topic invalid."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from handler.commands.verify import audit
from handler.engine.collector import run
from handler.format.layout import dead_letters_key, is_dead_letter_key, is_state_key
from handler.stores.local import LocalStore
from handler.stores.s3 import S3Store
from tests.integration.test_collect import end_offsets
from tests.support import runs
from tests.support.reconcile import Produced, committed, produce, reconcile, stored_records


def mixed(count: int, every: int = 2) -> list[tuple[int, Produced]]:
    """`count` records in partition 0, every `every`-th not JSON."""
    return [
        (
            0,
            Produced(
                f"k{n}".encode(),
                b"not json %d" % n if n % every == every - 1 else b'{"n": %d}' % n,
            ),
        )
        for n in range(count)
    ]


def split(produced: dict) -> tuple[dict, dict]:
    bad = {pos: item for pos, item in produced.items() if item.value.startswith(b"not json")}
    return {pos: item for pos, item in produced.items() if pos not in bad}, bad


def assert_once_across_data_and_dead_letters(store, produced: dict, location: str) -> None:
    good, bad = split(produced)
    reconcile(good, stored_records(store, store.prefix))
    reconcile(bad, stored_records(store, store.prefix, dead_letters=True))
    keys = [key for key in store.list_keys(store.prefix) if not is_state_key(key)]
    data = {key for key in keys if not is_dead_letter_key(key)}
    letters = [key for key in keys if is_dead_letter_key(key)]
    # At most one dead-letter object per data object, and each one's companion.
    assert {dead_letters_key(key) for key in data} >= set(letters), letters
    audits = audit(location, None)
    assert audits and all(item.healthy for item in audits), [item.line() for item in audits]
    assert sum(item.dead_letters for item in audits) == len(bad)


@pytest.mark.parametrize(
    "failpoint",
    [
        "after_claim:2",
        "after_dead_letters:1",
        "after_dead_letters:3",
        "mid_upload:3",
        "after_store:2",
    ],
)
@pytest.mark.parametrize("object_format", ["jsonl", "parquet"])
def test_killed_at_each_dead_letter_step_then_rerun(
    failpoint, object_format, topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=1)
    produced = produce(producer, topic, mixed(900, every=3))
    out = tmp_path / "out"
    settings = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        partitions=f"{topic}:0",
        value_format="json",
        max_object_records=100,
        destination=str(out),
        format=object_format,
        compression="zstd",
    )
    code, summary, _ = runs.finish(runs.start(tmp_path, failpoint=failpoint, **settings))
    assert code == -signal.SIGKILL and summary is None

    runs.catch_up(tmp_path, **settings)

    assert_once_across_data_and_dead_letters(LocalStore(out), produced, str(out))
    assert committed(admin, f"g-{topic}") == end_offsets(produced)


def test_a_range_of_only_invalid_records_is_a_link_of_its_own(
    topic_factory, producer, settings_factory, admin
) -> None:
    topic = topic_factory(partitions=1)
    items = [(0, Produced(b"k", b"not json %d" % n)) for n in range(50)]
    items += [(0, Produced(b"k", b'{"n": %d}' % n)) for n in range(50, 60)]
    produced = produce(producer, topic, items)
    settings = settings_factory(topics=(topic,), value_format="json", max_object_records=50)

    report = run(settings)

    assert report.status == "ok" and report.records == 10 and report.dead_letters == 50
    assert report.objects == 2
    store = LocalStore(settings.target().path)
    assert_once_across_data_and_dead_letters(store, produced, str(settings.target().path))
    assert committed(admin, settings.group_id) == {(topic, 0): 60}


def test_overlapping_runs_with_other_rotation_sizes(
    topic_factory, producer, bootstrap, tmp_path, admin
) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(
        producer, topic, [(n % 2, item) for n, (_, item) in enumerate(mixed(3000, every=4))]
    )
    out = tmp_path / "out"
    common = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        value_format="json",
        destination=str(out),
    )
    processes = [
        runs.start(tmp_path, partitions=f"{topic}:0-1", max_object_records=size, **common)
        for size in (90, 170, 400, 55)
    ]
    results = [runs.finish(process) for process in processes]
    for code, summary, stderr in results:
        assert summary is not None, stderr[-2000:]
        statuses = {part["status"] for part in summary["partitions"]}
        assert code == 0 or statuses <= {"done", "budget", "commit_refused"}, stderr[-2000:]
    runs.catch_up(tmp_path, topics=topic, **common)

    assert_once_across_data_and_dead_letters(LocalStore(out), produced, str(out))
    assert committed(admin, f"g-{topic}") == end_offsets(produced)


def test_half_of_200k_records_invalid_on_s3(
    topic_factory, producer, settings_factory, bucket_factory, s3_server, s3_client, admin
) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(
        producer, topic, [(n % 2, item) for n, (_, item) in enumerate(mixed(200_000))]
    )
    bucket = bucket_factory()
    settings = settings_factory(
        topics=(topic,),
        value_format="json",
        destination=f"s3://{bucket}/dl",
        s3_endpoint_url=s3_server.endpoint,
        max_object_records=20_000,
    )

    report = run(settings)

    assert report.status == "ok", report.errors
    assert report.records == 100_000 and report.dead_letters == 100_000
    assert report.counts["invalid value: not JSON"] == 100_000
    store = S3Store(s3_client, bucket, "dl")
    keys = Counter(
        is_dead_letter_key(key) for key in store.list_keys("dl/") if "_kafka_beat" not in key
    )
    assert keys[True] <= keys[False] == report.objects == 10
    good, bad = split(produced)
    reconcile(good, stored_records(store, "dl/"))
    reconcile(bad, stored_records(store, "dl/", dead_letters=True))
    assert committed(admin, settings.group_id) == end_offsets(produced)
