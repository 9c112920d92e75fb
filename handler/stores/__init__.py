"""Destinations behind one small interface: a local directory (the default), S3, Google Cloud
Storage and Azure Blob Storage. Each cloud's library is imported only by its own store module,
and that module only when a destination of its kind is opened."""

from __future__ import annotations

from handler.config.settings import Settings
from handler.stores.base import ObjectHead, PutOutcome, Store


def open_store(settings: Settings) -> Store:
    """The store `KAFKA_BEAT_DESTINATION` names; boto3 is imported only for S3, the Google
    libraries only for GCS, the Azure ones only for Azure."""
    target = settings.target()
    if target.kind == "s3":
        from handler.stores.s3 import S3Store

        return S3Store.from_settings(settings)
    if target.kind == "gcs":
        from handler.stores.gcs import GCSStore

        return GCSStore.from_settings(settings)
    if target.kind == "azure":
        from handler.stores.azure import AzureBlobStore

        return AzureBlobStore.from_settings(settings)
    from handler.stores.local import LocalStore

    assert target.path is not None
    return LocalStore(target.path)


__all__ = ["ObjectHead", "PutOutcome", "Store", "open_store"]
