"""Where a test's runs store, by kind: the settings a run is given and the store the test reads
back with, on the session's servers (started only for the kinds a test asks for)."""

from __future__ import annotations

from typing import Any

import pytest

from handler.stores.base import Store

KINDS = ("local", "s3", "seaweedfs", "gcs", "azure")


def destination_for(
    kind: str, request: pytest.FixtureRequest, prefix: str, serial_s3: bool = False
) -> tuple[dict[str, Any], Store]:
    """(settings, store) for a fresh bucket or container of `kind` under `prefix` ("s3" is
    moto's; "seaweedfs" the S3 API of SeaweedFS). `serial_s3`: the single-threaded moto
    server, whose conditional writes are atomic as S3's are."""
    if kind == "local":
        from handler.stores.local import LocalStore

        root = request.getfixturevalue("tmp_path") / "out"
        return {"destination": str(root)}, LocalStore(root)
    if kind in ("s3", "seaweedfs"):
        import boto3

        from handler.stores.s3 import S3Store
        from tests.support.fixtures import unique

        if kind == "seaweedfs":
            server = request.getfixturevalue("seaweedfs")
        else:
            server = request.getfixturevalue("serial_s3_server" if serial_s3 else "s3_server")
        client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
        bucket = unique("bucket")
        client.create_bucket(Bucket=bucket)
        settings = {"destination": f"s3://{bucket}/{prefix}", "s3_endpoint_url": server.endpoint}
        return settings, S3Store(client, bucket, prefix)
    if kind == "gcs":
        from handler.stores.gcs import GCSStore

        endpoint = request.getfixturevalue("gcs_server").endpoint
        bucket = request.getfixturevalue("gcs_bucket_factory")()
        client = request.getfixturevalue("gcs_client")
        settings = {"destination": f"gs://{bucket}/{prefix}", "gcs_endpoint_url": endpoint}
        return settings, GCSStore(client, bucket, prefix)
    if kind == "azure":
        from handler.stores.azure import AzureBlobStore

        connection = request.getfixturevalue("azurite").connection_string
        container = request.getfixturevalue("azure_container_factory")()
        service = request.getfixturevalue("azure_service")
        settings = {
            "destination": f"az://{container}/{prefix}",
            "azure_connection_string": connection,
        }
        return settings, AzureBlobStore(service.get_container_client(container), prefix)
    raise ValueError(f"no destination kind {kind!r}; one of {KINDS}")
