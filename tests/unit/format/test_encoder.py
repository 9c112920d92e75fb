import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from handler.format.envelope import Encoder, decode_line
from handler.format.event_time import parse_event_time
from handler.record import Record


def record(value: bytes | None, key: bytes | None = b"k") -> Record:
    return Record("t", 0, 7, 1764054000123, "create", key, value)


@given(data=st.binary(max_size=64), fmt=st.sampled_from(["auto", "json", "text", "bytes"]))
def test_every_format_keeps_the_bytes_or_says_why(data: bytes, fmt: str) -> None:
    encoded = Encoder(value_format=fmt).encode(record(data))  # type: ignore[arg-type]
    back = decode_line(encoded.line).value
    if orjson.loads(encoded.line)["value_encoding"] == "json":
        assert json.loads(back) == json.loads(data)
    else:
        assert back == data
    problems = {p.field for p in encoded.problems}
    if fmt in ("auto", "bytes"):
        assert not problems
    if fmt == "text":
        assert problems == ({"value"} if _not_utf8(data) else set())


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_json_format_reports_where_the_document_breaks() -> None:
    encoded = Encoder(value_format="json").encode(record('{"é": [1, }'.encode()))
    (problem,) = encoded.problems
    assert (problem.field, problem.byte) == ("value", 11)  # bytes (é is two), not characters
    assert problem.error.startswith("not JSON: ")
    assert orjson.loads(encoded.line)["invalid"][0]["byte"] == 11


def test_valid_json_beyond_64_bits_is_not_invalid() -> None:
    encoded = Encoder(value_format="json").encode(record(b'{"n": 123456789012345678901234}'))
    assert not encoded.problems
    assert orjson.loads(encoded.line)["value_encoding"] == "utf8"


def test_tombstones_are_never_invalid() -> None:
    assert not Encoder("json", "json").encode(record(None, key=None)).problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T05:10:00Z", 1772341800000),
        ("2026-03-01T06:10:00+01:00", 1772341800000),
        ("2026-03-01T05:10:00", 1772341800000),  # no zone: UTC
        (1772341800, 1772341800000),  # seconds
        (1772341800.5, 1772341800500),
        (1772341800000, 1772341800000),  # milliseconds
        (1772341800000000, 1772341800000),  # microseconds
        (1772341800000000000, 1772341800000),  # nanoseconds
        ("yesterday", None),
        (True, None),
        (None, None),
    ],
)
def test_event_time_parsing(value, expected) -> None:
    assert parse_event_time(value) == expected


def test_time_field_whole_name_then_dotted_path() -> None:
    dotted = Encoder(time_field="event.created")
    nested = dotted.encode(record(b'{"event": {"created": 1772341800}}'))
    flat = dotted.encode(record(b'{"event.created": 1772341800}'))
    missing = dotted.encode(record(b'{"event": {}}'))
    assert nested.event_time == flat.event_time == 1772341800000
    assert (nested.time_from_field, missing.time_from_field) == (True, False)
    assert missing.event_time == 1764054000123


@pytest.mark.parametrize(
    ("document", "encoding"),
    [
        (b'{"a": {"b": 1, "b": 2}}', "utf8"),  # a nested duplicate
        (b'[{"x": 1}, {"y": 2.5, "y": 3}]', "utf8"),
        (b'{"a": 1, "a": "\\u0022:"}', "utf8"),  # a duplicate masked by an escaped quote
        (b'{"a": 1, "b": "say \\":\\" twice", "c": [1, 2.5]}', "json"),
        (b'{"k" : 1, "k": 2}', "utf8"),  # a spaced colon hides a key from the count
        (b'{"n": [1.0, 2.25, 123456789012345678901]}', "utf8"),
        (b'{"nested": {"deep": [[[[1]]]], "f": 0.1}}', "json"),
    ],
)
def test_fast_path_never_embeds_what_would_change(document: bytes, encoding: str) -> None:
    line = Encoder().encode(record(document)).line
    assert orjson.loads(line)["value_encoding"] == encoding
    if encoding == "json":
        assert json.loads(decode_line(line).value) == json.loads(document)
