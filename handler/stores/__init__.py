"""Destinations behind one small interface: a local directory (the default) and S3."""

from __future__ import annotations

from handler.config.settings import Settings
from handler.stores.base import ObjectHead, PutOutcome, Store


def open_store(settings: Settings) -> Store:
    """The store `KAFKA_BEAT_DESTINATION` names; boto3 is imported only for S3."""
    target = settings.target()
    if target.kind == "s3":
        from handler.stores.s3 import S3Store

        return S3Store.from_settings(settings)
    from handler.stores.local import LocalStore

    assert target.path is not None
    return LocalStore(target.path)


__all__ = ["ObjectHead", "PutOutcome", "Store", "open_store"]
