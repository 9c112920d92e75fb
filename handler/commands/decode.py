"""Reading storage back: `python -m handler decode PATH|s3://…|gs://…|az://…`.

Prints the records of one object, or of every object under a directory or prefix, as the stored
JSON lines (decompressed) or, with `--raw`, as each value's bytes followed by a newline.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from handler.config.values import parse_destination
from handler.errors import ConfigError
from handler.format.envelope import decode_line
from handler.format.layout import is_state_key
from handler.format.reading import is_object_key, stored_lines
from handler.format.registered import SchemaDecoder
from handler.stores import open_for_reading
from handler.stores.base import Store
from handler.stores.local import LocalStore


def _is_object(key: str) -> bool:
    return is_object_key(key) and not is_state_key(key)


def open_location(location: str, endpoint_url: str | None) -> tuple[Store, list[str]]:
    """The store holding `location` and the object keys it names, in order.

    `endpoint_url`: an S3-compatible endpoint, a GCS endpoint (an emulator), or for az:// the
    account URL (https://ACCOUNT.blob.core.windows.net, with DefaultAzureCredential)."""
    try:
        target = parse_destination(location)
    except ValueError as exc:
        raise ConfigError(f"cannot read '{location}': {exc}") from exc
    if target.kind != "local":
        store = open_for_reading(target.kind, target.bucket, endpoint_url)
        head = store.head(target.prefix) if _is_object(target.prefix) else None
        keys = [target.prefix] if head else list(store.list_keys(target.prefix))
    else:
        assert target.path is not None
        path = target.path
        if path.is_file():
            store, keys = LocalStore(path.parent), [path.name]
        elif path.is_dir():
            store = LocalStore(path)
            keys = list(store.list_keys(""))
        else:
            raise ConfigError(f"'{path}' is neither a file nor a directory")
    return store, [key for key in keys if _is_object(key)]


def lines(store: Store, keys: list[str]) -> Iterator[bytes]:
    for key in keys:
        with store.open(key) as raw:
            yield from stored_lines(key, raw, _embedded_decoder)


def _embedded_decoder(schemas: str) -> SchemaDecoder:
    """The decoder of the schemas a Parquet object of a Schema Registry format embeds."""
    try:
        from handler.registry.embedded import embedded_decoder
    except ImportError as exc:
        raise ConfigError(
            "the object holds Schema Registry values: decoding its lines needs fastavro and "
            "protobuf, which the base install leaves out: pip install 'kafka-beat[registry]'"
        ) from exc
    return embedded_decoder(schemas)


def write(location: str, out: BinaryIO, raw: bool, endpoint_url: str | None) -> int:
    """Write every record found to `out`; the number of records."""
    store, keys = open_location(location, endpoint_url)
    count = 0
    for line in lines(store, keys):
        if raw:
            out.write((decode_line(line).value or b"") + b"\n")
        else:
            out.write(line)
        count += 1
    return count
