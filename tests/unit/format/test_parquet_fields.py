from typing import Any

import pytest

from handler.config.parquet_fields import FIELD_TYPES, ParquetField, format_fields, parse_fields
from handler.format.json_fields import JsonField
from handler.format.parquet_fields import UNFIT, convert


def lookup(document: Any, name: str) -> Any:
    return JsonField(name).find(document)


def test_the_documented_spec() -> None:
    fields = parse_fields("user:string,action:string,bytes:int64,@timestamp:timestamp")
    assert fields == (
        ParquetField("user", "string", "user"),
        ParquetField("action", "string", "action"),
        ParquetField("bytes", "int64", "bytes"),
        ParquetField("@timestamp", "timestamp", "@timestamp"),
    )


def test_columns_can_be_named_and_the_spec_written_back() -> None:
    spec = " event.created : timestamp : created , ok:bool,ratio:float64:r, "
    fields = parse_fields(spec)
    assert fields == (
        ParquetField("event.created", "timestamp", "created"),
        ParquetField("ok", "bool", "ok"),
        ParquetField("ratio", "float64", "r"),
    )
    assert format_fields(fields) == "event.created:timestamp:created,ok:bool,ratio:float64:r"
    assert parse_fields(format_fields(fields)) == fields
    assert parse_fields("") == ()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("user", "write FIELD:TYPE or FIELD:TYPE:COLUMN"),
        ("user:", "write FIELD:TYPE or FIELD:TYPE:COLUMN"),
        ("a:b:c:d", "write FIELD:TYPE or FIELD:TYPE:COLUMN"),
        (
            "bytes:int",
            "unknown type 'int'; valid types are string, int64, float64, bool, timestamp",
        ),
        ("value:string", "column 'value' is taken"),
        ("Timestamp:timestamp", "column 'Timestamp' is taken"),
        ("x:string:hour", "column 'hour' is taken"),
        ("user:string,user:int64", "column 'user' is already made by 'user:string'"),
        ("a:string:x,b:string:X", "column 'X' is already made"),
    ],
)
def test_bad_specs_say_what_to_write(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_fields(spec)
    assert message in str(caught.value)


def test_a_taken_column_gets_a_suggestion() -> None:
    with pytest.raises(ValueError, match=r"e\.g\. value:int64:value_field"):
        parse_fields("value:int64")


def test_lookup_takes_the_whole_name_then_the_dotted_path() -> None:
    document = {"event.created": "whole", "event": {"created": "nested"}, "@timestamp": 1}
    assert lookup(document, "event.created") == "whole"
    assert lookup({"event": {"created": "nested"}}, "event.created") == "nested"
    assert lookup(document, "@timestamp") == 1
    assert lookup(document, "missing") is None
    assert lookup({"a": [1]}, "a.b") is None
    assert lookup([1, 2], "a") is None
    assert lookup(None, "a") is None


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        ("string", "alice", "alice"),
        ("string", 42, UNFIT),
        ("string", {"a": 1}, UNFIT),
        ("int64", 42, 42),
        ("int64", -(2**63), -(2**63)),
        ("int64", 2**63, UNFIT),
        ("int64", 1.0, UNFIT),
        ("int64", True, UNFIT),
        ("int64", "42", UNFIT),
        ("float64", 1.5, 1.5),
        ("float64", 3, 3.0),
        ("float64", 2**53 + 1, UNFIT),  # a double would round it
        ("float64", False, UNFIT),
        ("bool", True, True),
        ("bool", 1, UNFIT),
        ("timestamp", "2025-11-25T07:00:00.123Z", 1764054000123),
        ("timestamp", "2025-11-25T07:00:00.123", 1764054000123),  # no zone: UTC
        ("timestamp", 1764054000, 1764054000000),  # epoch seconds
        ("timestamp", 1764054000123, 1764054000123),  # milliseconds
        ("timestamp", 1764054000123456, 1764054000123),  # microseconds
        ("timestamp", "yesterday", UNFIT),
        ("timestamp", True, UNFIT),
        ("timestamp", [1], UNFIT),
        ("timestamp", 1e300, UNFIT),  # past what 64-bit milliseconds hold
    ],
)
def test_conversion_is_strict(field_type: str, value: object, expected: object) -> None:
    result = convert(field_type, value)
    if expected is UNFIT:
        assert result is UNFIT
    else:
        assert result == expected
        assert type(result) is type(expected)


def test_every_type_converts() -> None:
    samples = {"string": "s", "int64": 1, "float64": 1.0, "bool": False, "timestamp": 0}
    assert set(samples) == set(FIELD_TYPES)
    for field_type, value in samples.items():
        assert convert(field_type, value) is not UNFIT
