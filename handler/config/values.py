"""The value types settings are made of, and the parsers that read them from text."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import urlparse

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# GCS: 3-63 characters (up to 222 with dots), lowercase letters, digits, '-', '_' and '.'.
_GCS_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]$")
# Azure: 3-63 characters, lowercase letters, digits and single hyphens between them.
_AZURE_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
SCHEMES = "s3://bucket/prefix, gs://bucket/prefix, az://container/prefix"
_PARTITION_SPEC = re.compile(r"^(?P<topic>[A-Za-z0-9._\-]+):(?P<first>\d+)(?:-(?P<last>\d+))?$")


class PartitionRef(NamedTuple):
    topic: str
    partition: int


@dataclass(frozen=True)
class Destination:
    """Where objects go: a bucket (S3, GCS) or container (Azure) and key prefix, or a local
    directory."""

    kind: Literal["s3", "gcs", "azure", "local"]
    bucket: str
    """The S3 or GCS bucket, or the Azure container; empty for a local directory."""
    prefix: str
    path: Path | None


def split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def parse_partitions(value: Any) -> Any:
    """Turn `auth:0,auth:2-3` into partition references; anything else is left to pydantic."""
    items = split_list(value)
    if not isinstance(items, list):
        return items
    refs: list[PartitionRef] = []
    for item in items:
        if isinstance(item, PartitionRef | tuple):
            refs.append(PartitionRef(*item))
            continue
        match = _PARTITION_SPEC.match(str(item))
        if not match:
            raise ValueError(
                f"'{item}' is not a partition; write topic:N or topic:FIRST-LAST, "
                "comma-separated, e.g. auth:0,auth:2-3"
            )
        first = int(match["first"])
        last = int(match["last"] or first)
        if last < first:
            raise ValueError(f"'{item}': range end {last} is before its start {first}")
        refs.extend(PartitionRef(match["topic"], n) for n in range(first, last + 1))
    return tuple(dict.fromkeys(refs))


_CLOUD_SCHEMES: dict[str, tuple[Literal["s3", "gcs", "azure"], re.Pattern[str], str]] = {
    "s3://": ("s3", _BUCKET_NAME, "S3 bucket name; write s3://BUCKET/optional/prefix"),
    "gs://": (
        "gcs",
        _GCS_BUCKET_NAME,
        "GCS bucket name; write gs://BUCKET/optional/prefix",
    ),
    "az://": (
        "azure",
        _AZURE_CONTAINER_NAME,
        "Azure container name (3-63 lowercase letters, digits and single hyphens); "
        "write az://CONTAINER/optional/prefix",
    ),
}


def parse_destination(value: str) -> Destination:
    """Read `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`,
    `file:///dir` or a plain directory path."""
    for scheme, (kind, pattern, what) in _CLOUD_SCHEMES.items():
        if value.startswith(scheme):
            parsed = urlparse(value)
            if not pattern.match(parsed.netloc):
                raise ValueError(f"'{parsed.netloc}' is not a valid {what}")
            return Destination(kind, parsed.netloc, parsed.path.strip("/"), None)
    if "://" in value and not value.startswith("file://"):
        scheme = value.split("://", 1)[0]
        raise ValueError(
            f"scheme '{scheme}://' is not supported; use {SCHEMES}, "
            "file:///absolute/dir or a plain directory path"
        )
    path = Path(value.removeprefix("file://")).expanduser()
    if not str(path):
        raise ValueError("the directory path is empty")
    return Destination("local", "", "", path)


def installed(module: str) -> bool:
    """Whether `module` can be imported, found without importing it: an optional library is
    loaded only by the code that uses it, yet a setting needing it is refused at load."""
    return importlib.util.find_spec(module) is not None


def needs_module(choice: str, module: str, refusal: str) -> Callable[[str], str]:
    """A field validator: the value `choice` only where `module` is installed, else a
    ValueError with `refusal` (what is missing and what to do)."""

    def check(value: str) -> str:
        if value == choice and not installed(module):
            raise ValueError(refusal)
        return value

    return check


ENV_PREFIX = "KAFKA_BEAT_"

FieldFormat = Literal["auto", "json", "text", "bytes", "avro", "jsonschema", "protobuf", "registry"]
"""How a key or value is read (KAFKA_BEAT_KEY_FORMAT, KAFKA_BEAT_VALUE_FORMAT)."""


def env_name(field: str) -> str:
    """The environment variable of a setting: `KAFKA_BEAT_<FIELD>`."""
    return f"{ENV_PREFIX}{field.upper()}"
