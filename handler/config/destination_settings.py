"""The destination settings: where objects go, what each store needs, and what a run accepts
of the store (create-only writes or not); with the rules between them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from handler.config.values import Destination, parse_destination

_SCHEME = {"s3": "s3://", "gcs": "gs://", "azure": "az://"}


class DestinationSettings(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    destination: str = "./kafka-beat-data"
    """s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, file:///dir or a plain
    directory path."""

    delivery: Literal["exactly_once", "at_least_once"] = "exactly_once"
    """exactly_once refuses a destination that does not honour create-only writes;
    at_least_once accepts it, and with it duplicates after crashes or overlapping runs."""

    s3_endpoint_url: str | None = None
    """Endpoint of an S3-compatible store (default: AWS S3 for the region)."""

    s3_region: str | None = None
    """AWS region of the bucket (default: from the AWS environment)."""

    s3_sse: Literal["AES256", "aws:kms"] | None = None
    """Server-side encryption of each object (default: the bucket's default encryption)."""

    s3_kms_key_id: str | None = None
    """KMS key id, ARN or alias for KAFKA_BEAT_S3_SSE=aws:kms (default: the AWS managed key)."""

    s3_expected_bucket_owner: str | None = None
    """AWS account id that must own the bucket: a typo in the bucket name then fails instead
    of writing into someone else's bucket."""

    s3_object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None
    """S3 Object Lock retention set on every object written (the bucket must have Object Lock
    enabled)."""

    s3_object_lock_days: int | None = Field(default=None, gt=0)
    """Days of Object Lock retention, with KAFKA_BEAT_S3_OBJECT_LOCK_MODE."""

    gcs_endpoint_url: str | None = None
    """Endpoint of a GCS-compatible server, e.g. an emulator at http://127.0.0.1:4443 (used
    with anonymous credentials); default: Google Cloud Storage, with Application Default
    Credentials."""

    azure_account_url: str | None = None
    """Blob endpoint of the Azure storage account, https://ACCOUNT.blob.core.windows.net,
    authenticated with DefaultAzureCredential (managed identity, workload identity,
    environment, Azure CLI); for az:// destinations, unless a connection string is given."""

    azure_connection_string: SecretStr | None = None
    """Azure Storage connection string (account key or SAS) instead of
    KAFKA_BEAT_AZURE_ACCOUNT_URL (secret: also _FILE or a Secrets Manager ARN)."""

    upload_attempts: int = Field(default=6, ge=1, le=20)
    """Attempts per object upload on transient failures, with exponential backoff and jitter."""

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        parse_destination(value)
        return value

    @model_validator(mode="after")
    def _s3(self) -> DestinationSettings:
        if bool(self.s3_object_lock_mode) != bool(self.s3_object_lock_days):
            raise ValueError(
                "KAFKA_BEAT_S3_OBJECT_LOCK_MODE and KAFKA_BEAT_S3_OBJECT_LOCK_DAYS go together"
            )
        if self.s3_kms_key_id and self.s3_sse != "aws:kms":
            raise ValueError("KAFKA_BEAT_S3_KMS_KEY_ID needs KAFKA_BEAT_S3_SSE=aws:kms")
        return self

    @model_validator(mode="after")
    def _store_settings(self) -> DestinationSettings:
        """Each store's settings only with a destination of that store, and Azure's account."""
        kind = self.target().kind
        given = {
            "s3": any((self.s3_endpoint_url, self.s3_region, self.s3_sse)),
            "gcs": self.gcs_endpoint_url is not None,
            "azure": self.azure_account_url is not None or self.azure_connection_string is not None,
        }
        example = {
            "s3": ("S3", "s3://bucket/prefix"),
            "gcs": ("GCS", "gs://bucket/prefix"),
            "azure": ("AZURE", "az://container/prefix"),
        }
        for store, present in given.items():
            if present and kind != store:
                name, url = example[store]
                where = "a local directory" if kind == "local" else f"a {_SCHEME[kind]} destination"
                raise ValueError(
                    f"KAFKA_BEAT_{name}_* settings are given but KAFKA_BEAT_DESTINATION is "
                    f"{where}; set KAFKA_BEAT_DESTINATION={url} or unset them"
                )
        if kind == "azure" and (self.azure_account_url is None) == (
            self.azure_connection_string is None
        ):
            raise ValueError(
                "an az:// destination needs exactly one of KAFKA_BEAT_AZURE_ACCOUNT_URL "
                "(https://ACCOUNT.blob.core.windows.net, with DefaultAzureCredential) and "
                "KAFKA_BEAT_AZURE_CONNECTION_STRING"
            )
        return self

    def target(self) -> Destination:
        return parse_destination(self.destination)
