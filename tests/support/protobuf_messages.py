"""A Protobuf schema made at run time (no protoc): its FileDescriptorProto and message classes,
for the tests that produce or decode Protobuf values."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2


def reading_file(version: int = 1) -> descriptor_pb2.FileDescriptorProto:
    """`package probe; message Reading {string sensor = 1; double value = 2; int64 count = 3;
    Kind kind = 4; bytes raw = 5; google.protobuf.Timestamp at = 6; message Inner {string
    note = 1;} Inner inner = 7; repeated string tags = 8;} message Other {bool ok = 1;}`."""
    fields = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="probe/reading.proto",
        package="probe",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    reading = proto.message_type.add(name="Reading")
    inner = reading.nested_type.add(name="Inner")
    inner.field.add(name="note", number=1, type=fields.TYPE_STRING, label=fields.LABEL_OPTIONAL)
    kind = proto.enum_type.add(name="Kind")
    kind.value.add(name="KIND_UNSET", number=0)
    kind.value.add(name="KIND_HOT", number=1)
    for name, number, kind_of, extra in (
        ("sensor", 1, fields.TYPE_STRING, {}),
        ("value", 2, fields.TYPE_DOUBLE, {}),
        ("count", 3, fields.TYPE_INT64, {}),
        ("kind", 4, fields.TYPE_ENUM, {"type_name": ".probe.Kind"}),
        ("raw", 5, fields.TYPE_BYTES, {}),
        ("at", 6, fields.TYPE_MESSAGE, {"type_name": ".google.protobuf.Timestamp"}),
        ("inner", 7, fields.TYPE_MESSAGE, {"type_name": ".probe.Reading.Inner"}),
    ):
        reading.field.add(
            name=name, number=number, type=kind_of, label=fields.LABEL_OPTIONAL, **extra
        )
    reading.field.add(name="tags", number=8, type=fields.TYPE_STRING, label=fields.LABEL_REPEATED)
    if version == 2:
        reading.field.add(
            name="site", number=9, type=fields.TYPE_STRING, label=fields.LABEL_OPTIONAL
        )
    other = proto.message_type.add(name="Other")
    other.field.add(name="ok", number=1, type=fields.TYPE_BOOL, label=fields.LABEL_OPTIONAL)
    return proto


def message_classes(version: int = 1) -> tuple[Any, Any, Any]:
    """Reading, Other and Reading.Inner of `reading_file(version)`."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(reading_file(version))
    return tuple(
        message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
        for name in ("probe.Reading", "probe.Other", "probe.Reading.Inner")
    )  # type: ignore[return-value]
