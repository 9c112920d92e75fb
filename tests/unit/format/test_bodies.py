"""JSON-lines bodies: the stored bytes do not depend on how the lines came (one by one, or in
runs of any length, long ones handed to the compressor as views)."""

from __future__ import annotations

import io
import random

import pytest

from handler.format.bodies import _CHUNK_BYTES, JsonLinesBody
from handler.format.compression import CODECS
from handler.format.envelope import encode_record
from handler.format.reading import stored_records
from handler.record import Record


def lines(count: int, seed: int = 5) -> list[bytes]:
    rng = random.Random(seed)
    return [
        encode_record(Record("t", 0, n, 1, "create", None, b"x" * rng.randrange(0, 9000)))
        for n in range(count)
    ]


def body_bytes(codec: str, pieces: list[bytes]) -> bytes:
    body = JsonLinesBody(CODECS[codec], None, 1 << 20, None)
    for piece in pieces:
        body.add_lines(memoryview(piece))
    sealed = body.seal()
    data = sealed.body.read()
    sealed.close()
    return data


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_runs_of_any_length_store_the_bytes_lines_one_by_one_store(codec: str) -> None:
    each = lines(400)
    whole = b"".join(each)
    assert len(whole) > 5 * _CHUNK_BYTES  # runs span several chunks
    one_by_one = body_bytes(codec, each)
    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(each)), 12))
    runs = [b"".join(each[a:b]) for a, b in zip([0, *cuts], [*cuts, len(each)], strict=True)]
    assert body_bytes(codec, runs) == one_by_one
    assert body_bytes(codec, [whole]) == one_by_one
    key = "t/t+0+00000000000000000000" + CODECS[codec].extension
    assert [r.offset for r in stored_records(key, io.BytesIO(one_by_one))] == list(range(400))
