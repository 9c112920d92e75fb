"""The Parquet column of a Protobuf message type: its pyarrow type, and how a value's JSON
mapping (`protobuf.py`) becomes what pyarrow builds it from.

Messages are structs of their `.proto` fields, repeated fields lists, maps maps, enums their
names (a number the schema does not name, as text); scalars keep their width and sign, `bytes`
is binary. A message field not set, or a `oneof` member not chosen, is null. Well-known types:
`Timestamp` a timestamp in UTC (microseconds), the wrappers their nullable scalar, `Duration` and
`FieldMask` their JSON text form, `Struct`, `Value`, `ListValue`, `Any` and `Empty` their JSON
text. A message that contains itself is its JSON text where it recurs.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from handler.registry import columns
from handler.registry.columns import Convert

_TIMESTAMP = "google.protobuf.Timestamp"
_AS_TEXT = frozenset({"google.protobuf.Duration", "google.protobuf.FieldMask"})
_AS_JSON = frozenset(
    {
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
        "google.protobuf.Any",
        "google.protobuf.Empty",
    }
)
_WRAPPERS = {
    "google.protobuf.DoubleValue": FieldDescriptor.TYPE_DOUBLE,
    "google.protobuf.FloatValue": FieldDescriptor.TYPE_FLOAT,
    "google.protobuf.Int64Value": FieldDescriptor.TYPE_INT64,
    "google.protobuf.UInt64Value": FieldDescriptor.TYPE_UINT64,
    "google.protobuf.Int32Value": FieldDescriptor.TYPE_INT32,
    "google.protobuf.UInt32Value": FieldDescriptor.TYPE_UINT32,
    "google.protobuf.BoolValue": FieldDescriptor.TYPE_BOOL,
    "google.protobuf.StringValue": FieldDescriptor.TYPE_STRING,
    "google.protobuf.BytesValue": FieldDescriptor.TYPE_BYTES,
}


def _number(value: Any) -> Any:
    # The JSON mapping writes NaN and the infinities as text, and 64-bit integers a double
    # cannot hold exactly as text.
    return float(value) if isinstance(value, str) else value


def _integer(value: Any) -> Any:
    return int(value) if isinstance(value, str) else value


def _enum(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


def _scalar(pa: Any, kind: int) -> tuple[Any, Convert | None]:
    types = FieldDescriptor
    scalars: dict[int, tuple[Any, Convert | None]] = {
        types.TYPE_DOUBLE: (pa.float64(), _number),
        types.TYPE_FLOAT: (pa.float32(), _number),
        types.TYPE_INT64: (pa.int64(), _integer),
        types.TYPE_SINT64: (pa.int64(), _integer),
        types.TYPE_SFIXED64: (pa.int64(), _integer),
        types.TYPE_UINT64: (pa.uint64(), _integer),
        types.TYPE_FIXED64: (pa.uint64(), _integer),
        types.TYPE_INT32: (pa.int32(), None),
        types.TYPE_SINT32: (pa.int32(), None),
        types.TYPE_SFIXED32: (pa.int32(), None),
        types.TYPE_UINT32: (pa.uint32(), None),
        types.TYPE_FIXED32: (pa.uint32(), None),
        types.TYPE_BOOL: (pa.bool_(), None),
        types.TYPE_STRING: (pa.string(), None),
        types.TYPE_BYTES: (pa.binary(), columns.from_base64),
        types.TYPE_ENUM: (pa.string(), _enum),
    }
    return scalars[kind]


def _map_key(kind: int) -> Convert | None:
    """JSON object keys are text: back to the key's own type."""
    if kind == FieldDescriptor.TYPE_BOOL:
        return lambda key: key == "true"
    if kind in (FieldDescriptor.TYPE_STRING,):
        return None
    return int


class _Mapper:
    def __init__(self, pa: Any) -> None:
        self.pa = pa
        self._expanding: set[str] = set()

    def message(self, descriptor: Descriptor) -> tuple[Any, Convert | None]:
        pa = self.pa
        name = descriptor.full_name
        if name == _TIMESTAMP:
            return pa.timestamp("us", tz="UTC"), columns.timestamp
        if name in _AS_TEXT:
            return pa.string(), None
        if name in _WRAPPERS:
            return _scalar(pa, _WRAPPERS[name])
        if name in _AS_JSON or name in self._expanding or not descriptor.fields:
            return pa.string(), columns.json_text
        self._expanding.add(name)
        try:
            fields, converts = [], []
            for field in descriptor.fields:
                arrow_type, convert = self._field(field)
                fields.append(pa.field(field.name, arrow_type))
                if convert is not None:
                    converts.append((field.name, convert))
        finally:
            self._expanding.discard(name)
        return pa.struct(fields), columns.fields(converts) if converts else None

    def _single(self, field: FieldDescriptor) -> tuple[Any, Convert | None]:
        if field.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            return self.message(field.message_type)
        return _scalar(self.pa, field.type)

    def _field(self, field: FieldDescriptor) -> tuple[Any, Convert | None]:
        pa = self.pa
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
            key_type, _ = _scalar(pa, key_field.type)
            key_convert = _map_key(key_field.type)
            value_type, value_convert = self._single(value_field)
            return pa.map_(key_type, value_type), _map(key_convert, value_convert)
        arrow_type, convert = self._single(field)
        if field.is_repeated:
            return pa.list_(arrow_type), None if convert is None else columns.each(convert)
        return arrow_type, convert


def _map(key_convert: Convert | None, value_convert: Convert | None) -> Convert | None:
    if key_convert is None and value_convert is None:
        return None
    keys = key_convert or (lambda key: key)
    values = value_convert or (lambda value: value)
    return lambda entries: [
        (keys(key), None if value is None else values(value)) for key, value in entries.items()
    ]


def protobuf_column(pa: Any, descriptor: Descriptor) -> tuple[Any, Convert | None]:
    """The pyarrow type of a message type, and the conversion of its JSON mapping."""
    return _Mapper(pa).message(descriptor)
