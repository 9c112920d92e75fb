"""The native batch encoder (native/, module kafka_beat_native) against the Python encoder, the
reference: every record it does not defer has the Python encoder's line, byte for byte, its
event time and its time_from_field; the common cases (log lines, nested documents, text) are
not deferred; `Batch.take` walks a batch as `Intake._take_run` does."""

from __future__ import annotations

import json
import math
import random
import threading
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.format.envelope import Encoder, _long_number
from handler.format.event_time import parse_event_time
from handler.format.layout import MAX_TIMESTAMP_MS, hour_bucket
from handler.record import Record

native = pytest.importorskip("kafka_beat_native")

FORMATS = ("auto", "json", "text", "bytes")
TIME_FIELDS = (None, "@timestamp", "event.created", "ts")


def record(value: bytes | None, key: bytes | None = b"k", **fields: Any) -> Record:
    base = Record("t", 0, 7, 1764054000123, "create", key, value)
    return base._replace(**fields)


def assert_same(
    records: list[Any],
    key_format: str = "auto",
    value_format: str = "auto",
    time_field: str | None = None,
    kind: str = "record",
    as_records: list[Record] | None = None,
) -> Any:
    """Encode natively and in Python; every record not deferred must agree exactly."""
    batch = native.encode_batch(records, kind, key_format, value_format, time_field)
    encoder = Encoder(key_format, value_format, time_field)  # type: ignore[arg-type]
    deferred = set(batch.deferred)
    assert batch.count == len(records)
    assert batch.deferred == sorted(deferred)
    lines = []
    for index, rec in enumerate(as_records or records):
        if index in deferred:
            with pytest.raises(ValueError, match="deferred"):
                batch.line(index)
            continue
        encoded = encoder.encode(rec)
        assert batch.line(index) == encoded.line, rec
        assert batch.event_time(index) == encoded.event_time, rec
        assert batch.time_from_field(index) is encoded.time_from_field, rec
        lines.append(encoded.line)
    assert batch.lines == b"".join(lines)
    return batch


def deferred_one(value: bytes | None, **options: Any) -> bool:
    return bool(assert_same([record(value)], **options).deferred)


# -- JSON texts: values, literals, layouts ------------------------------------------------------

INT_BOUNDS = [0, 1, -1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1]
BEYOND = [2**64, -(2**63) - 1, 10**30, -(10**30)]
INTS = st.one_of(st.integers(-(2**63), 2**64 - 1), st.sampled_from(INT_BOUNDS + BEYOND))
FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([-0.0, 0.0, 0.1, 5e-324, 1e300, 1.7976931348623157e308, 123456789.12345678]),
)
NUMBER_TEXT = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,21})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(
        [
            *(
                "-0",
                "-0.0",
                "0e400",
                "1e400",
                "-1e400",
                "1e-400",
                "-1e-400",
                "1E+2",
                "1" + "0" * 310,
            ),
            *("12345678901234567", "123456789012345678", "1.2345678901234567"),
            *("0.30000000000000004", "01", "1.", ".5", "+1", "NaN", "Infinity", "1e", "--1"),
        ]
    ),
)
PIECES = ['":', '" :', ":", '"', "\\", "/", "\u2028", "\x00", "\x1f", "\x7f", "\ufeff", "é", "😀"]
TEXTS = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.lists(
        st.sampled_from([*PIECES, "a", " ", "1" * 18, "2026-11-25T00:00:00Z"]), max_size=5
    ).map("".join),
)
KEYS = st.one_of(
    st.sampled_from(["a", "b", "@timestamp", "event", "created", "event.created", "ts", ""]),
    TEXTS,
)
WHITESPACE = st.sampled_from(["", "", "", " ", "  ", "\n", "\r\n", "\t", " \n\t"])
ISO_SAMPLES = ["2026-11-25T00:00:00.041Z", "2026-11-25 10:00:00+01:00", "2026-11-25", "soon"]


@st.composite
def string_literals(draw: st.DrawFn, texts: st.SearchStrategy[str] = TEXTS) -> str:
    text = draw(texts)
    literal = json.dumps(text, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        literal = literal.replace("/", "\\/")
    if draw(st.booleans()):
        literal = literal.replace('\\"', "\\u0022")
    return literal


SCALARS = st.one_of(
    st.just("null"),
    st.sampled_from(["true", "false"]),
    INTS.map(str),
    FLOATS.map(repr),
    NUMBER_TEXT,
    string_literals(),
    string_literals(st.sampled_from(ISO_SAMPLES)),
)


@st.composite
def objects(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    pairs = draw(st.lists(st.tuples(string_literals(KEYS), children), max_size=5))
    if pairs and draw(st.integers(0, 4)) == 0:
        pairs.append((pairs[0][0], draw(children)))  # a duplicate key
    ws = draw(WHITESPACE)
    colon = draw(st.sampled_from([":", ": ", " : ", ":\n"]))
    body = ("," + ws).join(f"{key}{colon}{value}" for key, value in pairs)
    return "{" + ws + body + ws + "}"


@st.composite
def arrays(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    ws = draw(WHITESPACE)
    return "[" + ws + ("," + ws).join(draw(st.lists(children, max_size=5))) + ws + "]"


DOCUMENTS = st.recursive(
    SCALARS, lambda children: objects(children) | arrays(children), max_leaves=16
)


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    """JSON-like bytes: written by hand, by orjson or json, spaced, mutated or broken."""
    how = draw(st.integers(0, 9))
    if how == 0:
        value = draw(st.recursive(st.none() | st.booleans() | INTS | FLOATS | TEXTS, _nest))
        try:
            return orjson.dumps(value)
        except orjson.JSONEncodeError:
            return json.dumps(value).encode()
    text = draw(WHITESPACE) + draw(DOCUMENTS) + draw(WHITESPACE)
    data = text.encode("utf-8", "surrogatepass")
    if how == 1 and data:  # one byte changed
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(min_size=1, max_size=2)) + data[at + 1 :]
    elif how == 2:
        data = data[: draw(st.integers(0, len(data)))]
    elif how == 3:
        data = draw(st.sampled_from([b"\xef\xbb\xbf", b"\x00", b"2026-12-01 ", b"\xff"])) + data
    return data


def _nest(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4)


TRICKY = [
    b"",
    b" ",
    b"\r\n",
    b"null",
    b"true ",
    b" false",
    b"0",
    b"-0",
    b"-0.0",
    b'{"a":-0}',
    b'{"a":-0.0}',
    b'{"a":-0,"b":[1]}',
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b'{"n":18446744073709551616}',
    b'{"n":123456789012345678}',
    b'{"id":"123456789012345678"}',
    b"1e400",
    b'{"x":1e400}',
    b"NaN",
    b'{"x":NaN}',
    b"Infinity",
    b'"\\ud800"',
    b'"\\udc00"',
    b'"\\ud83d\\ude00"',
    b'{"a":"\\ud800"}',
    b'"\xed\xa0\x80"',
    b"\xef\xbb\xbf{}",
    b'{"a":1}\x00',
    b'{"a":"x\x01"}',
    b'{"a":"x\x7f"}',
    b'{"a":1,"a":2}',
    b'{"a":1, "a":2}',
    b'{"a" : 1}',
    b'{"a":"\\":"}',
    b'{"a":"\\u0022:"}',
    b'{"a":{"b":"\\u0022:"}}',
    b'{"\\u0061":1,"a":2}',
    b'{"a":":x"}',
    b'{"a":[":x"]}',
    # A string that starts with a colon: orjson writes `":` for it, as for a key.
    b'[ ":" ]',
    b'{"a" : [ ": x" ], "b":1}',
    b'{":k" : [1], "b" : 2}',
    b'{ "a":":", "b":[] }',
    b'{"a":"\\" :"}',
    b'{"a":[1,"\\" :"]}',
    b'{\n"a": 1\n}',
    b'{"a":1}\r\n',
    b'{"a":[1,\n2]}',
    b'{"a":[1.5,\n2]}',
    b"[1,\r\n2]",
    b'"multi\\nline"',
    b'"tab\\there"',
    b"[]",
    b"{}",
    b"[[]]",
    b'{"a":{}}',
    b"2026-12-01 10:00 sshd[8]: Accepted publickey",
    b"2026",
    b"12.5",
    b"1e5",
    b"-",
    b"--help",
    b"tru",
    b"nul",
    b"fal",
    b"host-17",
    b"\x00\x01",
    b"\xff\xfe",
    b"caf\xc3\xa9",
    b"\x7f",
]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(json_texts() | st.sampled_from(TRICKY) | st.binary(max_size=24), max_size=6),
    value_format=st.sampled_from(FORMATS),
    key_format=st.sampled_from(FORMATS),
    time_field=st.sampled_from(TIME_FIELDS),
)
def test_every_record_not_deferred_matches_python(
    values: list[bytes], value_format: str, key_format: str, time_field: str | None
) -> None:
    records = [record(value, key=values[-1 - index]) for index, value in enumerate(values)]
    assert_same(records, key_format, value_format, time_field)


@pytest.mark.parametrize("data", TRICKY)
@pytest.mark.parametrize("fmt", FORMATS)
def test_tricky_values_and_keys(data: bytes, fmt: str) -> None:
    assert_same([record(data), record(b"v", key=data), record(None, key=None)], fmt, fmt)


@pytest.mark.parametrize("depth", [1, 127, 128, 129, 199, 200, 201, 253, 254, 255, 256, 1024, 1025])
@pytest.mark.parametrize("shape", ["list", "object", "mixed"])
def test_deep_nesting(depth: int, shape: str) -> None:
    opening = {"list": "[", "object": '{"a":', "mixed": '[{"a":'}[shape]
    closing = {"list": "]", "object": "}", "mixed": "}]"}[shape]
    repeat = depth if shape != "mixed" else max(1, depth // 2)
    document = (opening * repeat + "1" + closing * repeat).encode()
    for fmt in ("auto", "json"):
        deferred = deferred_one(document, value_format=fmt)
        if depth * (2 if shape == "mixed" else 1) <= 200:
            assert not deferred


@settings(max_examples=200)
@given(
    number=NUMBER_TEXT | INTS.map(str) | FLOATS.map(repr),
    wrap=st.sampled_from(["{}", '{{"a":{}}}', '{{"a":{},"b":"x"}}', "[{}]", '{{"a":[{}]}}']),
)
def test_numbers_in_every_position(number: str, wrap: str) -> None:
    assert_same([record(wrap.format(number).encode())], "auto", "auto")
    assert_same([record(wrap.format(number).encode())], "json", "json")


# -- strings on the line: orjson's escaping -----------------------------------------------------

ALL_ASCII = "".join(map(chr, range(0x80)))


@given(text=st.text(st.characters(exclude_categories=("Cs",))) | st.just(ALL_ASCII + "é\u2028😀"))
def test_topic_header_and_text_escaping_is_orjsons(text: str) -> None:
    data = text.encode()
    rec = Record(text, 1, 2, 3, text, data, data, ((text, data), (text, None)))
    batch = assert_same([rec], "text", "text")
    line = batch.line(0)
    assert line.startswith(b'{"topic":' + orjson.dumps(text) + b',"partition":1,')
    assert b'"value":' + orjson.dumps(text) + b',"value_encoding":"utf8"' in line
    assert line.endswith(
        b'"headers":' + orjson.dumps([[text, text, "utf8"], [text, None, None]]) + b"}\n"
    )


@given(data=st.binary(max_size=40))
def test_base64_is_pythons(data: bytes) -> None:
    rec = record(data, key=data, headers=(("h", data),))
    assert_same([rec], "bytes", "bytes")
    assert_same([rec], "auto", "auto")


class _Str(str):
    pass


class _Bytes(bytes):
    pass


def test_values_of_unexpected_types_are_left_to_python() -> None:
    # A lone surrogate has no UTF-8: the Python encoder raises; the native one leaves it to it.
    rec = Record("t\ud800", 0, 0, 0, "create", None, None)
    assert native.encode_batch([rec], "record", "auto", "auto", None).deferred == [0]
    subclasses = [
        record(bytearray(b"{}")),  # type: ignore[arg-type]
        record(_Bytes(b"{}")),
        record(b"{}", topic=_Str("t")),
        record(b"{}", headers=(("h", memoryview(b"v")),)),  # type: ignore[arg-type]
    ]
    assert native.encode_batch(subclasses, "record", "auto", "auto", None).deferred == [0, 1, 2, 3]
    odd = [record(b"v", key="k"), record(b"v", partition=True), record(b"v", offset=2**64)]  # type: ignore[arg-type]
    assert native.encode_batch(odd, "record", "auto", "auto", None).deferred == [0, 1, 2]


# -- the time field -----------------------------------------------------------------------------


@st.composite
def iso_strings(draw: st.DrawFn, strict: bool = False) -> str:
    """ISO-8601-ish strings; `strict`: only the native subset, every field in range."""
    moment = draw(st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)))
    year, month, day = moment.year, moment.month, moment.day
    hour, minute, second = moment.hour, moment.minute, moment.second
    if not strict and draw(st.integers(0, 5)) == 0:
        year, month, day, hour, minute, second = draw(
            st.sampled_from(
                [
                    *((0, 1, 1, 0, 0, 0), (2026, 13, 1, 0, 0, 0), (2026, 2, 29, 0, 0, 0)),
                    *((2026, 4, 31, 0, 0, 0), (2026, 1, 1, 24, 0, 0), (2026, 1, 1, 23, 60, 0)),
                    *((2026, 1, 1, 23, 59, 60), (2024, 2, 29, 12, 0, 0), (2026, 0, 1, 0, 0, 0)),
                ]
            )
        )
    separator = draw(st.sampled_from(["T", " "] if strict else ["T", " ", "t", "_", "", "TT"]))
    text = f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:{second:02d}"
    digits = draw(st.integers(0, 9 if strict else 14))
    if digits or (not strict and draw(st.booleans())):
        fraction = "".join(
            draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits))
        )
        text += draw(st.sampled_from([".", ","])) + fraction
    zone_hours, zone_minutes = (
        draw(st.integers(0, 23 if strict else 25)),
        draw(st.integers(0, 59 if strict else 61)),
    )
    zones = [
        "",
        "Z",
        f"+{zone_hours:02d}:{zone_minutes:02d}",
        f"-{zone_hours:02d}{zone_minutes:02d}",
    ]
    if not strict:
        zones += ["z", f"+{zone_hours:02d}", "+00:00:30", "+1:00", "Z+01:00", "UTC", " Z"]
    text += draw(st.sampled_from(zones))
    if not strict and draw(st.integers(0, 5)) == 0:
        text = (
            draw(st.sampled_from([" ", "\t", "\u3000", "\n"]))
            + text
            + draw(st.sampled_from(["", " "]))
        )
    if not strict and draw(st.integers(0, 6)) == 0:
        text = draw(st.sampled_from([text[:10], text[:16], text[2:], "", "yesterday", "n/a", "T"]))
    return text


BOUNDARIES = [10**11, 10**14, 10**17, 2**53, 2**63, 2**64 - 1]
EPOCH_INTS = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.integers(-(10**18), 10**18),
    st.sampled_from(
        [
            sign * (bound + step)
            for bound in BOUNDARIES
            for step in (-2, -1, 0, 1, 2)
            for sign in (1, -1)
        ]
    ),
).filter(lambda number: -(2**63) <= number <= 2**64 - 1)
EPOCH_FLOATS = st.one_of(
    FLOATS,
    st.floats(-1e19, 1e19),
    st.sampled_from(
        [
            sign * math.nextafter(float(bound), toward)
            for bound in BOUNDARIES[:3]
            for toward in (0, math.inf)
            for sign in (1, -1)
        ]
        + [
            1772341800.123,
            1772341800123.9,
            1.772341800123456e15,
            1.772341800123456789e18,
            9.3e18,
            1e300,
        ]
    ),
)
TIME_VALUES = st.one_of(
    iso_strings(),
    EPOCH_INTS,
    EPOCH_FLOATS,
    st.booleans(),
    st.none(),
    st.just({"nested": 1}),
    st.just([1]),
    st.text(max_size=6),
)


def _literal(value: Any) -> str:
    return repr(value) if isinstance(value, float) else json.dumps(value)


@settings(max_examples=500)
@given(
    value=TIME_VALUES,
    where=st.sampled_from(["top", "dotted", "both", "flat-dotted", "missing", "deep"]),
    extra=st.sampled_from(["", ',"n":[1,2]', ',"f":1.5', ',"s":"x"']),
)
def test_time_fields_match_python(value: Any, where: str, extra: str) -> None:
    literal = _literal(value)
    documents = {
        "top": f'{{"ts":{literal},"@timestamp":{literal}{extra}}}',
        "dotted": f'{{"event":{{"created":{literal}}}{extra}}}',
        "both": f'{{"event.created":{literal},"event":{{"created":1772341800}}{extra}}}',
        "flat-dotted": f'{{"event.created":{literal}{extra}}}',
        "missing": f'{{"event":{{"other":{literal}}}{extra}}}',
        "deep": f'[{{"ts":{literal}}}]',
    }
    rec = record(documents[where].encode())
    for time_field in TIME_FIELDS:
        assert_same([rec, record(None)], time_field=time_field)


@settings(max_examples=500)
@given(text=iso_strings())
def test_iso_strings_match_python(text: str) -> None:
    value = orjson.dumps({"@timestamp": text, "level": "INFO"})
    assert_same([record(value)], time_field="@timestamp")


@settings(max_examples=500)
@given(text=iso_strings(strict=True))
def test_iso_subset_is_native(text: str) -> None:
    assert parse_event_time(text) is not None
    assert not deferred_one(orjson.dumps({"@timestamp": text}), time_field="@timestamp")


@settings(max_examples=300)
@given(number=EPOCH_INTS)
def test_epoch_ints_are_native(number: int) -> None:
    value = b'{"ts":%d}' % number  # orjson writes no int beyond 64 bits signed
    assert not deferred_one(value, time_field="ts")


def test_texts_without_digits_are_no_time_natively() -> None:
    for text in ["", "yesterday", "n/a", "  ", "T", "\u3000"]:
        assert parse_event_time(text) is None
        assert not deferred_one(orjson.dumps({"ts": text}), time_field="ts")


# -- the fast path is taken ---------------------------------------------------------------------


def _payloads(kind: str, count: int) -> list[bytes]:
    from scripts.benchmarks.payloads import document, log_line

    rng = random.Random(20261125)
    if kind == "doc-floats":  # full-precision floats: 18 bytes of digits and a dot
        return [
            (
                document(rng, index)[:-1] + f',"ratio":{rng.random()},"x":{rng.random() * 1e3}}}'
            ).encode()
            for index in range(count)
        ]
    make = document if kind == "doc" else log_line
    return [make(rng, index).encode() for index in range(count)]


@pytest.mark.parametrize(
    ("kind", "time_field"),
    [
        ("log", None),
        ("doc-floats", "eventTime"),
        ("log", "@timestamp"),
        ("doc", None),
        ("doc", "eventTime"),
        ("doc", "userIdentity.sessionContext.attributes.creationDate"),
    ],
)
def test_no_deferral_on_log_lines_and_documents(kind: str, time_field: str | None) -> None:
    values = _payloads(kind, 2000 if kind == "log" else 300)
    if kind == "doc-floats":  # most take the strict parser's path in Python
        assert sum(map(_long_number, values)) > len(values) // 2
    records = [
        Record("logs", 3, 100 + i, 1764000000000 + i, "create", f"host-{i % 40}".encode(), v)
        for i, v in enumerate(values)
    ]
    batch = assert_same(records, time_field=time_field)
    assert batch.deferred == []
    if time_field:
        assert all(batch.time_from_field(i) for i in range(len(records)))


def test_no_deferral_on_common_variants() -> None:
    line = json.loads(_payloads("log", 1)[0])
    variants = [
        json.dumps(line).encode(),  # spaced
        json.dumps({**line, "message": "café ☕"}).encode(),  # \u escapes in a flat line
        json.dumps({**line, "message": 'said "hi": twice'}).encode(),  # `":` in a string
        b"#" + _payloads("log", 1)[0][1:],  # not JSON
        b"2026-12-01 10:00:00 sshd[8]: Accepted publickey for root",
        b"2026-12-01T10:00:00Z GET /health 200",
        b"\xff\xfebinary",
        b"",
        b"42",
        b'"a string"',
        b"null",
        b"[1,2,3]",
        json.dumps({"a": {"b": [1, None, True]}}, indent=2).encode(),  # multi-line, no float
    ]
    records = [record(value) for value in variants] + [record(None, key=None)]
    assert assert_same(records, time_field="@timestamp").deferred == []
    texts = [record(value) for value in variants if value != b"\xff\xfebinary"]  # invalid text
    assert assert_same(texts, "text", "text").deferred == []
    assert assert_same([record(v) for v in variants], "bytes", "bytes").deferred == []
    # Written again by orjson, floats and all (as zmij writes them); `-0` or `-0.0`? Python.
    assert not deferred_one(json.dumps({"a": [1, 2.5e-7, 1e16]}, indent=2).encode())
    assert deferred_one(b'{"a": [-0.0,\n1]}')


def test_headers_are_native() -> None:
    headers = (
        ("trace", b"abc"),
        ("bin", b"\xff\x00"),
        ("empty", b""),
        ("none", None),
        ("é", b"\x7f"),
    )
    assert assert_same([record(b"{}", headers=headers)]).deferred == []


# -- take: Intake._take_run's loop --------------------------------------------------------------


def take_model(
    batch: Any,
    records: list[Record],
    start: int,
    stop: int,
    room_records: int,
    room_bytes: int,
    later_hour_ms: int,
    end: int,
    consumed_to: int,
    hour_start_ms: int | None,
) -> dict[str, Any]:
    """The loop of `Intake._take_run` and the counts `ObjectBuilder.add` and `count_oddities`
    make, written plainly over the batch's lines."""
    deferred = set(batch.deferred)
    taken: list[int] = []
    index = start
    while index < min(stop, len(records)):
        rec = records[index]
        if rec.offset >= end or rec.offset < consumed_to or index in deferred:
            break
        line, moment = batch.line(index), batch.event_time(index)
        if (
            room_records <= 0
            or len(line) > room_bytes
            or later_hour_ms <= moment < MAX_TIMESTAMP_MS
        ):
            break
        room_records -= 1
        room_bytes -= len(line)
        consumed_to = rec.offset + 1
        taken.append(index)
        index += 1
    times = [batch.event_time(i) for i in taken]
    lines = b"".join(batch.line(i) for i in taken)
    return {
        "next_index": index,
        "records": len(taken),
        "first_offset": records[taken[0]].offset if taken else None,
        "last_offset": records[taken[-1]].offset if taken else None,
        "lines": lines,
        "bytes_in": sum(
            len(r.value or b"") + len(r.key or b"") + sum(len(v or b"") for _, v in r.headers)
            for r in (records[i] for i in taken)
        ),
        "bytes_encoded": len(lines),
        "min_event_time": min(times, default=None),
        "max_event_time": max(times, default=None),
        "late": sum(
            1
            for t in times
            if hour_start_ms is not None and not hour_start_ms <= t < MAX_TIMESTAMP_MS
        ),
        "tombstones": sum(1 for i in taken if records[i].value is None),
        "unknown_time": sum(1 for t in times if hour_bucket(t) is None),
        "time_field_missing": sum(1 for i in taken if batch.time_from_field(i) is False),
    }


HOUR = 3_600_000
BASE_MS = 1764000000000


@st.composite
def batches(draw: st.DrawFn) -> list[Record]:
    records = []
    offset = draw(st.integers(0, 50))
    for _ in range(draw(st.integers(0, 25))):
        offset += draw(st.sampled_from([1, 1, 1, 1, 2, 0, -1]))
        moment = BASE_MS + draw(st.integers(-2, 3)) * HOUR + draw(st.integers(0, HOUR - 1))
        value = draw(
            st.sampled_from(
                [
                    b'{"ts":%d,"m":"x"}' % moment,
                    b'{"m":"no time"}',
                    b'{"ts":"2099-12-31T23:59:59Z"}',
                    b'{"ts":"2100-01-01T00:00:00Z"}',
                    b'{"ts":-5}',
                    b'{"ts":%d}' % (moment // 1000),
                    b"plain text",
                    b'{"a":[1.5,\n2]}',  # deferred
                    b"",
                ]
            )
            | st.none()
        )
        headers = draw(st.sampled_from([(), (("h", b"vv"),), (("h", None), ("g", b"\xff"))]))
        records.append(
            Record(
                "t", 0, offset, moment, "create", draw(st.none() | st.just(b"key")), value, headers
            )
        )
    return records


@settings(max_examples=300)
@given(
    records=batches(),
    data=st.data(),
)
def test_take_walks_the_batch_as_the_intake_loop(
    records: list[Record], data: st.DataObject
) -> None:
    batch = assert_same(records, time_field="ts")
    count = len(records)
    start = data.draw(st.integers(0, count))
    stop = data.draw(st.integers(start, count + 2))
    first_offset = records[start].offset if start < count else 0
    args = (
        start,
        stop,
        data.draw(st.integers(-1, count + 1)),
        data.draw(st.integers(-1, 3000)),
        BASE_MS + data.draw(st.integers(-3, 4)) * HOUR,
        first_offset + data.draw(st.integers(-1, count + 2)),
        first_offset + data.draw(st.integers(-2, 1)),
        data.draw(st.none() | st.integers(-3, 3).map(lambda hours: BASE_MS + hours * HOUR)),
    )
    taken = batch.take(*args)
    expected = take_model(batch, records, *args)
    got = {name: getattr(taken, name) for name in expected if name != "lines"}
    got["lines"] = batch.lines[taken.line_start : taken.line_end]
    assert got == expected


# -- record kinds -------------------------------------------------------------------------------


NATIVE_VALUES = [b"", b"null", b'{"a":1}', b"[1.5]", b"text", b"\xff", b'{"a":{"b":[]}}']


@settings(max_examples=100)
@given(
    values=st.lists(st.sampled_from(NATIVE_VALUES) | st.none(), min_size=1, max_size=5),
    timestamp=st.none() | st.integers(-1, 2**40),
    timestamp_type=st.sampled_from([0, 1, None, 5, True, False]),
    headers=st.sampled_from([None, [], [("a", b"1")], [("a", b"\xff"), ("b", b"")]]),
)
def test_kafka_python_records_read_as_the_source_reads_them(
    values: list[bytes | None], timestamp: int | None, timestamp_type: Any, headers: Any
) -> None:
    from kafka.consumer.fetcher import ConsumerRecord

    from handler.kafka.kafka_python.source import _record

    raws = [
        ConsumerRecord(
            "topic", 2, -1, 10 + i, timestamp, timestamp_type, b"k", v, headers, None, 1, 1, 1
        )
        for i, v in enumerate(values)
    ]
    batch = assert_same(raws, kind="kafka-python", as_records=[_record(raw) for raw in raws])
    assert batch.deferred == []


def test_confluent_messages_read_as_the_source_reads_them() -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    from handler.kafka.confluent.source import _record

    message = confluent_kafka.Message
    messages = [
        message(
            topic="t",
            partition=3,
            offset=9,
            key=b"k",
            value=b'{"a":1}',
            headers=[("h", b"v")],
            timestamp=(1, 17),
        ),
        message(
            topic="t", partition=0, offset=10, key=None, value=None, headers=None, timestamp=(2, 18)
        ),
        message(
            topic="t",
            partition=1,
            offset=11,
            value=b"text",
            headers=[("h", None)],
            timestamp=(0, -1),
        ),
        message(),  # every field None: the source reads "", 0, 0
    ]
    batch = assert_same(messages, kind="confluent", as_records=[_record(m) for m in messages])
    assert batch.deferred == []


@pytest.mark.parametrize(
    ("kind", "item"),
    [
        ("record", {"topic": "t"}),
        ("record", ("t", 0, 0, 0, "create", None, None, ())),  # a plain tuple: no _fields
        ("confluent", Record("t", 0, 0, 0, "create", None, None)),
        ("kafka-python", "not a record"),
        ("kafka-python", "bad-headers"),
    ],
)
def test_a_record_of_the_wrong_shape_is_a_type_error(kind: str, item: Any) -> None:
    if item == "bad-headers":
        from kafka.consumer.fetcher import ConsumerRecord

        item = ConsumerRecord("t", 0, -1, 0, 0, 0, None, None, [(b"h",)], None, 0, 0, 0)
    good = Record("t", 0, 0, 0, "create", None, None)
    records = [good, item] if kind == "record" else [item]
    with pytest.raises(TypeError, match=rf"records\[{len(records) - 1}\] is not a {kind}"):
        native.encode_batch(records, kind, "auto", "auto", None)


def test_unknown_kind_or_format_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="record, kafka-python, confluent"):
        native.encode_batch([], "avro", "auto", "auto", None)
    with pytest.raises(ValueError, match="auto, json, text, bytes"):
        native.encode_batch([], "record", "auto", "xml", None)


def test_batches_encode_in_parallel_threads() -> None:
    # The GIL is released while encoding: two threads at once give the same lines.
    records = [record(value) for value in _payloads("doc", 100)]
    expected = native.encode_batch(records, "record", "auto", "auto", "eventTime").lines
    results: list[bytes] = []

    def run() -> None:
        for _ in range(5):
            results.append(
                native.encode_batch(records, "record", "auto", "auto", "eventTime").lines
            )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 10


def test_batch_indexes_are_checked() -> None:
    batch = native.encode_batch([record(b"{}")], "record", "auto", "auto", None)
    with pytest.raises(IndexError):
        batch.line(1)
    with pytest.raises(IndexError):
        batch.event_time(-1)
