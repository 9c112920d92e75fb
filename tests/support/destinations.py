"""Where a test's runs store, by kind, on the session's servers (started only for the kinds a
test asks for): the one factory of test destinations, for the store contract suite and for the
integration suites alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from handler.stores.base import Store

KINDS = ("local", "s3", "seaweedfs", "gcs", "azure")


@dataclass
class Place:
    """A fresh bucket (or container, or directory) of one kind."""

    kind: str
    settings: dict[str, Any]
    """What a run storing here is given."""
    open: Callable[[], Store]
    """A store on it with a client of its own, as a separate process would have."""
    missing: Callable[[], Store] | None
    """A store whose bucket or container does not exist (None: the local directory is made)."""


def place_for(
    kind: str,
    request: pytest.FixtureRequest,
    prefix: str,
    serial_s3: bool = False,
    attempts: int = 6,
    azure_block_bytes: int | None = None,
) -> Place:
    """A fresh place of `kind` under `prefix` ("s3" is moto's; "seaweedfs" the S3 API of
    SeaweedFS). `serial_s3`: the single-threaded moto server, whose conditional writes are
    atomic as S3's are. `azure_block_bytes`: Azure uploads bodies above it in blocks of it."""
    from tests.support.fixtures import unique

    if kind == "local":
        from handler.stores.local import LocalStore

        root = request.getfixturevalue("tmp_path") / "out"
        return Place(kind, {"destination": str(root)}, lambda: LocalStore(root), None)
    if kind in ("s3", "seaweedfs"):
        import boto3

        from handler.stores.s3 import S3Store

        if kind == "seaweedfs":
            server = request.getfixturevalue("seaweedfs")
        else:
            server = request.getfixturevalue("serial_s3_server" if serial_s3 else "s3_server")

        def client() -> Any:
            return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")

        bucket = unique("bucket")
        client().create_bucket(Bucket=bucket)
        return Place(
            kind,
            {"destination": f"s3://{bucket}/{prefix}", "s3_endpoint_url": server.endpoint},
            lambda: S3Store(client(), bucket, prefix, attempts=attempts),
            lambda: S3Store(client(), unique("absent"), prefix, attempts=attempts),
        )
    if kind == "gcs":
        from handler.stores.gcs import GCSStore, gcs_client

        endpoint = request.getfixturevalue("gcs_server").endpoint
        bucket = request.getfixturevalue("gcs_bucket_factory")()
        return Place(
            kind,
            {"destination": f"gs://{bucket}/{prefix}", "gcs_endpoint_url": endpoint},
            lambda: GCSStore(gcs_client(endpoint), bucket, prefix, attempts=attempts),
            lambda: GCSStore(gcs_client(endpoint), unique("absent"), prefix, attempts=attempts),
        )
    if kind == "azure":
        from pydantic import SecretStr

        from handler.stores.azure import AzureBlobStore, azure_service

        connection = request.getfixturevalue("azurite").connection_string
        container = request.getfixturevalue("azure_container_factory")()

        def store(name: str) -> Store:
            service = azure_service(None, SecretStr(connection), block_bytes=azure_block_bytes)
            return AzureBlobStore(service.get_container_client(name), prefix, attempts=attempts)

        return Place(
            kind,
            {"destination": f"az://{container}/{prefix}", "azure_connection_string": connection},
            lambda: store(container),
            lambda: store(unique("absent")),
        )
    raise ValueError(f"no destination kind {kind!r}; one of {KINDS}")


def destination_for(
    kind: str, request: pytest.FixtureRequest, prefix: str, serial_s3: bool = False
) -> tuple[dict[str, Any], Store]:
    """(settings, store) of a fresh place of `kind`: what the integration suites run against."""
    place = place_for(kind, request, prefix, serial_s3)
    return place.settings, place.open()
