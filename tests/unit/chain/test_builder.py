import gzip

import pytest

from handler.chain.builder import ObjectBuilder, Rotation
from handler.format.bodies import JsonLines, ObjectFormat, Parquet
from handler.format.compression import CODECS
from handler.format.envelope import Encoder
from handler.format.reading import stored_records
from handler.record import Record

HOUR = 3_600_000


def record(offset: int, timestamp: int = 5 * HOUR) -> Record:
    return Record("t", 0, offset, timestamp, "create", None, b"x" * 10)


ENCODER = Encoder()


def object_format(codec: str) -> ObjectFormat:
    return Parquet() if codec == "parquet" else JsonLines(CODECS[codec])


def builder(start: int = 0, timestamp: int = 5 * HOUR, codec: str = "gzip") -> ObjectBuilder:
    chosen = object_format(codec)
    body = chosen.body(1024, "auto", "auto")
    return ObjectBuilder("t", 0, start, "key", timestamp, body, chosen.content_type)


def fill(target: ObjectBuilder, *records: Record) -> None:
    for item in records:
        target.add(item, ENCODER.encode(item))


def test_rotates_by_record_count() -> None:
    rotation = Rotation(max_records=2, max_bytes=10**9)
    target = builder()
    fill(target, record(0))
    assert not rotation.starts_new_object(target, record(1).timestamp, 50)
    fill(target, record(1))
    assert rotation.starts_new_object(target, record(2).timestamp, 50)


def test_rotates_by_uncompressed_bytes_but_never_leaves_an_object_empty() -> None:
    rotation = Rotation(max_records=100, max_bytes=100)
    target = builder()
    assert not rotation.starts_new_object(target, record(0).timestamp, 500)  # alone it still lands
    fill(target, record(0))
    assert rotation.starts_new_object(target, record(1).timestamp, 100)


def test_a_later_hour_rotates_a_late_record_stays() -> None:
    rotation = Rotation(max_records=100, max_bytes=10**9)
    target = builder(timestamp=5 * HOUR)
    fill(target, record(0, 5 * HOUR))
    assert not rotation.starts_new_object(target, 4 * HOUR, 50)
    assert rotation.starts_new_object(target, 6 * HOUR, 50)


def test_dated_records_leave_the_unknown_folder() -> None:
    rotation = Rotation(max_records=100, max_bytes=10**9)
    target = builder(timestamp=-1)
    fill(target, record(0, -1))
    assert rotation.starts_new_object(target, 5 * HOUR, 50)


@pytest.mark.parametrize("codec", ["gzip", "zstd", "none", "parquet"])
def test_sealed_body_decodes_to_the_records_and_next_follows_the_last(codec: str) -> None:
    target = builder(start=10, codec=codec)
    stored = [record(12), record(13), record(17)]  # gaps, as compaction leaves them
    fill(target, *stored)
    sealed = target.seal()
    assert (sealed.start, sealed.next, sealed.records) == (10, 18, 3)
    assert sealed.content_type == object_format(codec).content_type
    key = "t+0+00000000000000000010" + object_format(codec).extension
    assert list(stored_records(key, sealed.content.body)) == stored
    sealed.close()


def test_gzip_body_is_a_plain_gzip_file() -> None:
    target = builder()
    fill(target, record(0))
    sealed = target.seal()
    assert gzip.decompress(sealed.content.body.read()).count(b"\n") == 1


def test_out_of_order_records_are_refused() -> None:
    target = builder(start=5)
    with pytest.raises(ValueError, match="out of order"):
        fill(target, record(4))


@pytest.mark.parametrize("codec", ["gzip", "zstd", "none"])
def test_compressing_on_the_worker_stores_the_same_bytes(codec: str) -> None:
    """Chunks compressed off the consuming thread, several objects interleaved through a small
    queue: every object's bytes and hash equal those of compressing inline."""
    import random

    from handler.engine.pipeline import CompressionWorker

    rng = random.Random(5)
    records = [
        Record("t", 0, n, 5 * HOUR, "create", None, rng.randbytes(rng.randrange(10, 3000)))
        for n in range(3000)
    ]
    encoded = [ENCODER.encode(item) for item in records]

    def build(worker: CompressionWorker | None) -> list[tuple[str, int, bytes]]:
        # Inline first, then on the worker: a run's zstd context is never shared across threads.
        lines = JsonLines(CODECS[codec], None, worker)
        targets = [
            ObjectBuilder(
                "t", 0, 0, "k", 5 * HOUR, lines.body(1 << 20, "auto", "auto"), lines.content_type
            )
            for _ in range(3)
        ]
        for item, each in zip(records, encoded, strict=True):
            targets[item.offset % 3].add(item, each)
        sealed = [target.seal() for target in targets]
        return [(each.content.sha256, each.records, each.content.body.read()) for each in sealed]

    inline = build(None)
    with CompressionWorker(max_queued=2) as worker:
        assert build(worker) == inline
