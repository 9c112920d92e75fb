"""Proof, at the start of every run, that the destination honours create-only writes.

The exactly-once guarantee rests on one primitive: a write that fails when the key exists.
Some S3-compatible stores ignore `If-None-Match` and overwrite; on those, two overlapping runs
could both "win". The probe writes the same key twice; the second write must be refused.
"""

from __future__ import annotations

from handler.errors import ConfigError
from handler.format.layout import META_PROBE, probe_key
from handler.stores.base import NewObject, PutOutcome, Store


def verify_create_only(store: Store) -> bool:
    """True if a second create of the same key is refused, as it must be."""
    key = probe_key(store.prefix)
    body = b"Kafka Beat checks here that this store refuses to overwrite an object.\n"
    for _ in range(2):
        outcome = store.put_if_absent(
            NewObject.of_bytes(key, body, "text/plain", {META_PROBE: "1"})
        )
    return outcome is PutOutcome.EXISTS


def require_create_only(store: Store, delivery: str) -> None:
    if verify_create_only(store) or delivery == "at_least_once":
        return
    raise overwrites_error(store)


def overwrites_error(store: Store) -> ConfigError:
    """The error for a store that let the probe overwrite its object: what it risks, what to do."""
    return ConfigError(
        f"destination {store.describe()} overwrote an object that a create-only write "
        "(If-None-Match: *) should have left alone, so overlapping or retried runs could store "
        "records twice. Use a store that supports conditional writes (AWS S3 does), or set "
        "KAFKA_BEAT_DELIVERY=at_least_once to accept duplicates"
    )
