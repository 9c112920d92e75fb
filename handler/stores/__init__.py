"""Destinations behind one small interface: a local directory (the default), S3, Google Cloud
Storage and Azure Blob Storage. Each cloud's library is imported only by its own store module,
and that module only when a destination of its kind is opened: here, the one place a store is
chosen, for a run (`open_store`) and for reading storage back (`open_for_reading`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handler.config.settings import Settings
from handler.stores.base import ObjectHead, PutOutcome, Store

if TYPE_CHECKING:
    from handler.stores.azure import AzureBlobStore
    from handler.stores.gcs import GCSStore
    from handler.stores.s3 import S3Store


def _cloud(kind: str) -> type[S3Store] | type[GCSStore] | type[AzureBlobStore]:
    """The store class of a cloud destination, its library imported now."""
    if kind == "gcs":
        from handler.stores.gcs import GCSStore

        return GCSStore
    if kind == "azure":
        from handler.stores.azure import AzureBlobStore

        return AzureBlobStore
    from handler.stores.s3 import S3Store

    return S3Store


def open_store(settings: Settings) -> Store:
    """The store `KAFKA_BEAT_DESTINATION` names, with every option of its kind."""
    target = settings.target()
    if target.kind == "local":
        from handler.stores.local import LocalStore

        assert target.path is not None
        return LocalStore(target.path)
    return _cloud(target.kind).from_settings(settings)


def open_for_reading(kind: str, bucket: str, endpoint_url: str | None) -> Store:
    """A cloud bucket (or container) whole, to read back (`decode`, `verify`): the endpoint
    of an S3-compatible store or GCS emulator, or for az:// the account URL."""
    return _cloud(kind).for_reading(bucket, "", endpoint_url)


__all__ = ["ObjectHead", "PutOutcome", "Store", "open_for_reading", "open_store"]
