import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from handler.format.envelope import classify, decode_line, encode_record, rebuild
from handler.record import Record


def make(key: bytes | None, value: bytes | None, headers=()) -> Record:
    return Record("auth", 3, 1042, 1764054000123, "create", key, value, tuple(headers))


def test_documented_example_line() -> None:
    record = make(b"host-17", b'{"user": "alice", "action": "login"}', [("source", b"fw-01")])
    assert orjson.loads(encode_record(record)) == {
        "topic": "auth",
        "partition": 3,
        "offset": 1042,
        "timestamp": 1764054000123,
        "timestamp_type": "create",
        "key": "host-17",
        "key_encoding": "utf8",
        "value": {"user": "alice", "action": "login"},
        "value_encoding": "json",
        "headers": [["source", "fw-01", "utf8"]],
    }


def test_one_line_per_record_even_for_multiline_json() -> None:
    line = encode_record(make(None, b'{\n  "a": [1,\n 2]\n}\n'))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert orjson.loads(line)["value"] == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b'{"a": 1}', "json"),
        (b"123", "json"),
        (b'"quoted"', "json"),
        (b"plain text", "utf8"),
        (b"", "utf8"),
        (b"\xff\xfe\x00binary", "base64"),
        (b"123456789012345678901234567890", "utf8"),  # beyond 64 bits
        (b'{"a": 1, "a": 2}', "utf8"),  # duplicate keys
        (b"1e400", "utf8"),
        (b"NaN", "utf8"),
        (b"0.12345678901234567890123", "utf8"),  # more digits than a double holds
        (b'"\\ud800"', "utf8"),  # lone surrogate
        (b"[" * 300 + b"]" * 300, "utf8"),  # deeper than the encoder writes
        (b"\xef\xbb\xbf{}", "utf8"),  # a BOM is not JSON
        ("caf\u00e9".encode(), "utf8"),
    ],
)
def test_classification(data: bytes, encoding: str) -> None:
    assert classify(data)[1] == encoding


def test_tombstone_and_null_header_stay_null() -> None:
    document = orjson.loads(encode_record(make(None, None, [("h", None)])))
    assert document["value"] is None and document["value_encoding"] is None
    assert document["key"] is None and document["key_encoding"] is None
    assert document["headers"] == [["h", None, None]]


def test_headers_keep_order_duplicates_and_binary() -> None:
    headers = [("b", b"2"), ("a", b"\x80"), ("b", b"1"), ("a", b'{"x":1}')]
    back = decode_line(encode_record(make(b"k", b"v", headers)))
    assert list(back.headers) == headers


def test_unknown_encoding_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="json, utf8, base64"):
        rebuild("x", "hex")


def _same(original: bytes | None, stored: bytes | None, encoding: str | None) -> bool:
    if encoding == "json":
        assert original is not None and stored is not None
        return json.loads(original) == json.loads(stored)
    return original == stored


@given(
    key=st.one_of(st.none(), st.binary(max_size=64), st.text(max_size=32).map(str.encode)),
    value=st.one_of(
        st.none(),
        st.binary(max_size=256),
        st.text(max_size=64).map(str.encode),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers(-(2**70), 2**70)
            | st.text(max_size=8)
            | st.floats(allow_nan=False, allow_infinity=False),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=6), children, max_size=4)
            ),
            max_leaves=12,
        ).map(lambda doc: json.dumps(doc).encode()),
    ),
    headers=st.lists(
        st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=32))), max_size=4
    ),
)
def test_every_field_rebuilds(key, value, headers) -> None:
    record = make(key, value, headers)
    line = encode_record(record)
    document = orjson.loads(line)
    back = decode_line(line)
    assert _same(record.key, back.key, document["key_encoding"])
    assert _same(record.value, back.value, document["value_encoding"])
    assert back.headers == record.headers  # header values are always byte-exact
    assert (back.topic, back.partition, back.offset, back.timestamp) == (
        record.topic,
        record.partition,
        record.offset,
        record.timestamp,
    )
