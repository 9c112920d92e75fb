import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.config.parquet_fields import parse_fields
from handler.errors import ConfigError
from handler.format import layout
from handler.format.envelope import Encoder, classify, encode_record
from handler.format.parquet import ParquetObjectWriter
from handler.format.parquet_reader import ParquetReader, decode_lines, read_records
from handler.format.sealed import SealedBody
from handler.record import Record

ROOT = Path(__file__).resolve().parents[3]


def make(
    offset: int, key: bytes | None, value: bytes | None, headers=(), timestamp: int = 1764054000123
) -> Record:
    return Record("auth", 3, offset, timestamp, "create", key, value, tuple(headers))


def write(records, **options) -> SealedBody:
    writer = ParquetObjectWriter(**options)
    for record in records:
        writer.add(record)
    return writer.seal()


def body_of(sealed: SealedBody) -> bytes:
    data = sealed.body.read()
    sealed.close()
    return data


def table_of(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
).map(lambda document: json.dumps(document).encode())
payloads = st.one_of(
    st.none(),
    st.binary(max_size=96),
    st.text(max_size=32).map(str.encode),
    json_values,
    st.just(b'{\n  "user": "alice",\n  "n": 1\n}\n'),  # JSON the lines store compacted
)
records = st.lists(
    st.builds(
        Record,
        topic=st.sampled_from(["auth", "dns.queries", "t"]),
        partition=st.integers(0, 2**31 - 1),
        offset=st.integers(0, 2**63 - 1),
        timestamp=st.one_of(st.just(-1), st.integers(-(2**62), 2**62)),
        timestamp_type=st.sampled_from(["create", "log_append"]),
        key=payloads,
        value=payloads,
        headers=st.lists(
            # A small alphabet of names, so duplicates are common.
            st.tuples(st.sampled_from(["", "a", "trace-id", "é"]), payloads),
            max_size=4,
        ).map(tuple),
    ),
    min_size=1,
    max_size=12,
)


@settings(deadline=None)
@given(
    batch=records,
    compression=st.sampled_from(["zstd", "snappy", "gzip", "none"]),
    row_group_bytes=st.sampled_from([1, 600, 1 << 20]),
)
def test_every_byte_comes_back_and_decode_prints_the_jsonl_lines(
    batch, compression, row_group_bytes
) -> None:
    data = body_of(write(batch, compression=compression, row_group_bytes=row_group_bytes))
    assert list(read_records(io.BytesIO(data))) == batch
    assert list(decode_lines(io.BytesIO(data))) == [encode_record(record) for record in batch]


@settings(deadline=None, max_examples=100)
@given(
    batch=records,
    key_format=st.sampled_from(["auto", "json", "text", "bytes"]),
    value_format=st.sampled_from(["auto", "json", "text", "bytes"]),
)
def test_lines_follow_the_formats_the_object_was_written_with(
    batch, key_format, value_format
) -> None:
    data = body_of(write(batch, key_format=key_format, value_format=value_format))
    encoder = Encoder(key_format, value_format)
    with ParquetReader(io.BytesIO(data)) as reader:
        assert (reader.info.key_format, reader.info.value_format) == (key_format, value_format)
        assert list(reader.lines()) == [encoder.encode(record).line for record in batch]


def test_tricky_bytes_and_headers() -> None:
    every_byte = bytes(range(256))
    batch = [
        make(0, None, None),  # tombstone
        make(1, b"", b""),  # empty, not null
        make(2, every_byte, every_byte + b"\x00", [("a", None), ("a", b""), ("a", every_byte)]),
        make(3, b"\xff", b'{"a":1}', [("z", b"1"), ("a", b"2"), ("z", b"3")]),
        make(4, b"k", b"\xef\xbb\xbf{}", [], timestamp=-1),  # a BOM; no producer timestamp
    ]
    data = body_of(write(batch))
    assert list(read_records(io.BytesIO(data))) == batch
    headers = table_of(data).column("headers").to_pylist()
    assert headers[2] == [
        {"key": "a", "value": None},
        {"key": "a", "value": b""},
        {"key": "a", "value": every_byte},
    ]
    assert headers[0] == []


def test_schema_and_parquet_types() -> None:
    data = body_of(write([make(0, b"k", b"v")], fields=parse_fields("n:int64")))
    table = table_of(data)
    assert table.schema.names == [
        "topic",
        "partition",
        "offset",
        "timestamp",
        "timestamp_type",
        "key",
        "value",
        "headers",
        "value_json",
        "n",
    ]
    assert table.schema.field("partition").type == pa.int32()
    assert table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("headers").type.value_type == pa.struct(
        [pa.field("key", pa.string(), nullable=False), pa.field("value", pa.binary())]
    )
    parquet_schema = pq.ParquetFile(io.BytesIO(data)).schema
    stamp = parquet_schema.column(3)
    assert stamp.physical_type == "INT64"
    logical = json.loads(stamp.logical_type.to_json())
    assert (logical["Type"], logical["isAdjustedToUTC"], logical["timeUnit"]) == (
        "Timestamp",
        True,
        "milliseconds",
    )
    assert parquet_schema.column(5).physical_type == "BYTE_ARRAY"  # key: plain binary
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == [1764054000123]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"user": "alice", "n": 1}', '{"user": "alice", "n": 1}'),  # one line: as written
        (b'{\n "user": "alice"\n}', '{"user":"alice"}'),  # as the lines embed it: compact
        (b"[1, 2]", "[1, 2]"),
        (b'"text"', '"text"'),
        (b"plain text", None),
        (b"\xff\xfe", None),
        (b"123456789012345678901234567890", None),  # beyond 64 bits: the lines keep utf8
        (b'{"a": 1, "a": 2}', None),  # duplicate keys: likewise
        (None, None),
    ],
)
def test_value_json_is_what_the_lines_embed(data: bytes | None, expected: str | None) -> None:
    column = table_of(body_of(write([make(0, None, data)]))).column("value_json").to_pylist()
    assert column == [expected]
    if data is not None and expected is not None:
        embedded, encoding = classify(data)
        assert encoding == "json" and orjson.dumps(embedded).decode() == expected


def test_typed_columns_keep_what_fits_and_count_what_does_not() -> None:
    spec = "user:string,bytes:int64,@timestamp:timestamp,event.created:timestamp:created,ok:bool"
    values = [
        b'{"user": "alice", "bytes": 10, "@timestamp": "2025-11-25T07:00:00Z", "ok": true,'
        b' "event": {"created": 1764054000}}',
        b'{"user": 7, "bytes": "ten", "@timestamp": "soon", "ok": null}',  # none fit, ok null
        b'{"other": 1}',  # missing: null, not counted
        b"not json",  # nothing to convert: null, not counted
        None,
    ]
    writer = ParquetObjectWriter(fields=parse_fields(spec))
    for offset, value in enumerate(values):
        writer.add(make(offset, None, value))
    sealed = writer.seal()
    assert sealed.unfit == {"user": 1, "bytes": 1, "@timestamp": 1, "created": 0, "ok": 0}
    data = body_of(sealed)
    table = table_of(data)
    assert table.column("user").to_pylist() == ["alice", None, None, None, None]
    assert table.column("bytes").to_pylist() == [10, None, None, None, None]
    assert table.column("ok").to_pylist() == [True, None, None, None, None]
    stamps = [table.column(name).cast(pa.int64()).to_pylist() for name in ("@timestamp", "created")]
    assert stamps == [[1764054000000, None, None, None, None], [1764054000000] + [None] * 4]
    assert table.schema.field("bytes").type == pa.int64()
    assert table.schema.field("ok").type == pa.bool_()
    assert table.schema.field("created").type == pa.timestamp("ms", tz="UTC")
    # A value that does not fit is never dropped: the record and its bytes are all there.
    assert [record.value for record in read_records(io.BytesIO(data))] == values
    with ParquetReader(io.BytesIO(data)) as reader:
        assert reader.info.fields == parse_fields(spec)


@pytest.mark.parametrize("compression", ["zstd", "snappy", "gzip", "none"])
def test_pages_are_compressed_as_asked(compression: str) -> None:
    data = body_of(write([make(0, b"k", b"v" * 1000)], compression=compression))
    chunk = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(6)
    assert chunk.compression == ("UNCOMPRESSED" if compression == "none" else compression.upper())


def test_compression_level_is_passed_on() -> None:
    batch = [make(n, None, b'{"msg": "%d %s"}' % (n, b"ab" * (n % 40))) for n in range(2000)]
    fast = len(body_of(write(batch, compression="zstd", level=1)))
    small = len(body_of(write(batch, compression="zstd", level=19)))
    assert small < fast


def test_unknown_compression_is_refused() -> None:
    with pytest.raises(ValueError, match="zstd, snappy, gzip, none"):
        ParquetObjectWriter(compression="lz4")  # type: ignore[arg-type]


def test_row_groups_are_spooled_as_they_fill() -> None:
    writer = ParquetObjectWriter(row_group_bytes=64 * 1024, spool_memory_bytes=1024)
    value = b'{"msg": "' + b"x" * 1000 + b'"}'
    for offset in range(500):
        writer.add(make(offset, b"k", value))
        # Never more than one row group's worth waits in Python objects.
        assert writer.buffered_bytes < 64 * 1024
    assert writer.row_groups >= 7
    assert writer.size > 0  # written before the seal
    sealed = writer.seal()
    assert sealed.body._rolled  # type: ignore[attr-defined]  # past spool_memory_bytes: on disk
    assert writer.records == 500
    assert writer.row_groups == pq.ParquetFile(io.BytesIO(body_of(sealed))).num_row_groups


def test_size_and_sha256_describe_the_body_and_the_body_is_reproducible() -> None:
    batch = [make(n, b"k%d" % n, b'{"n": %d}' % n, [("h", b"%d" % n)]) for n in range(300)]
    first = write(batch, row_group_bytes=4096)
    size, digest = first.size, first.sha256
    data = body_of(first)
    assert (len(data), hashlib.sha256(data).hexdigest()) == (size, digest)
    assert body_of(write(batch, row_group_bytes=4096)) == data


def test_an_object_without_rows_is_a_readable_file_and_a_sealed_one_takes_no_more() -> None:
    # A repair whose whole range was compacted away stores an object without records.
    empty = ParquetObjectWriter()
    assert list(read_records(io.BytesIO(body_of(empty.seal())))) == []
    with pytest.raises(ValueError, match="sealed"):
        empty.seal()
    writer = ParquetObjectWriter()
    writer.add(make(0, None, b"v"))
    writer.seal().close()
    with pytest.raises(ValueError, match="sealed"):
        writer.add(make(1, None, b"v"))


def test_discard_drops_the_spool() -> None:
    writer = ParquetObjectWriter()
    writer.add(make(0, None, b"v"))
    writer.discard()
    assert writer._spool.closed


class _Stream(io.RawIOBase):
    """A body that reads but cannot seek, like an S3 stream."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self._data.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_body_that_cannot_seek_is_read_through_a_spool() -> None:
    batch = [make(n, None, b"%d" % n) for n in range(50)]
    data = body_of(write(batch))
    assert list(read_records(_Stream(data))) == batch  # type: ignore[arg-type]


def test_a_foreign_parquet_file_is_refused() -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1]}), buffer)
    buffer.seek(0)
    with pytest.raises(ValueError, match="not a Kafka Beat Parquet object"):
        ParquetReader(buffer)


def test_a_newer_format_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "PARQUET_FORMAT_VERSION", "2")
    data = body_of(write([make(0, None, b"v")]))
    monkeypatch.setattr(layout, "PARQUET_FORMAT_VERSION", "1")
    with pytest.raises(ValueError, match="format 2 is not one this reader knows"):
        ParquetReader(io.BytesIO(data))


def test_without_pyarrow_the_error_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match=r"pip install 'kafka-beat\[parquet\]'"):
        ParquetObjectWriter()


def test_importing_the_format_or_the_settings_does_not_import_pyarrow() -> None:
    code = (
        "import sys, handler.format.parquet, handler.format.parquet_reader, "
        "handler.config.settings; "
        "assert 'pyarrow' not in sys.modules, 'pyarrow imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_number_out_of_range_is_refused_and_the_object_stays_whole() -> None:
    writer = ParquetObjectWriter()
    writer.add(make(0, None, b"v"))
    with pytest.raises(ValueError, match="out of range"):
        writer.add(make(2**63, None, b"v"))
    with pytest.raises(ValueError, match="out of range"):
        writer.add(make(1, None, b"v", timestamp=2**64))
    writer.add(make(1, None, b"w"))
    data = body_of(writer.seal())
    assert list(read_records(io.BytesIO(data))) == [make(0, None, b"v"), make(1, None, b"w")]
