"""S3 (and S3-compatible stores) as the destination; the only store module that imports boto3
(the Secrets Manager lookup, `config/secrets_manager.py`, and the MSK IAM region lookup for
confluent-kafka, `kafka/confluent_options.py`, import it too, lazily, outside the stores).

Create-only writes use `PutObject` with `IfNoneMatch="*"`: S3 answers 412 when the key exists.
botocore's own retries are off so that tenacity alone decides, with one policy: retry what can
succeed on retry (throttling, 5xx, timeouts, dropped connections), fail at once on the rest.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from handler.config.settings import Settings
from handler.errors import AuthError, ConfigError, KafkaBeatError, StoreError, TransientError
from handler.format.layout import META_SHA256
from handler.stores.base import NewObject, ObjectHead, PutOutcome
from handler.stores.remote import StoreCalls, require_tls

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
        "OperationAborted",
        # S3 answers 409 while another conditional write to the same key is in flight.
        "ConditionalRequestConflict",
    }
)


_ERRORS = (ClientError, BotoCoreError)
"""What boto3 raises: an answer of S3 (ClientError, with a code), or a failure to reach it."""


class S3Store:
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str,
        attempts: int = 6,
        sse: str | None = None,
        kms_key_id: str | None = None,
        expected_owner: str | None = None,
        object_lock: tuple[str, int] | None = None,
    ) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix
        self._sse = sse
        self._kms_key_id = kms_key_id
        self._calls = StoreCalls(_ERRORS, ClientError, self._translate, attempts)
        self._owner: dict[str, Any] = (
            {"ExpectedBucketOwner": expected_owner} if expected_owner else {}
        )
        self._object_lock = object_lock

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        target = settings.target()
        require_tls("KAFKA_BEAT_S3_ENDPOINT_URL", settings.s3_endpoint_url)
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            s3={"addressing_style": "path"} if settings.s3_endpoint_url else {},
        )
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            config=config,
        )
        return cls(
            client,
            target.bucket,
            target.prefix,
            attempts=settings.upload_attempts,
            sse=settings.s3_sse,
            kms_key_id=settings.s3_kms_key_id,
            expected_owner=settings.s3_expected_bucket_owner,
            object_lock=(
                (settings.s3_object_lock_mode, settings.s3_object_lock_days)
                if settings.s3_object_lock_mode and settings.s3_object_lock_days
                else None
            ),
        )

    @classmethod
    def for_reading(cls, bucket: str, prefix: str, endpoint_url: str | None) -> S3Store:
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
        return cls(client, bucket, prefix)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def check(self) -> None:
        self._calls.run(
            "HeadBucket", "", lambda: self._client.head_bucket(Bucket=self.bucket, **self._owner)
        )

    def put_if_absent(self, new: NewObject) -> PutOutcome:
        extra = self._encryption() | self._retention()
        # S3 recomputes the SHA-256 of what arrives and refuses the object on a mismatch:
        # the hash is the one taken while the body was written, so it vouches end to end.
        digest = new.metadata.get(META_SHA256)
        if digest:
            extra["ChecksumAlgorithm"] = "SHA256"  # Object Lock requires it named
            extra["ChecksumSHA256"] = base64.b64encode(bytes.fromhex(digest)).decode()

        def create() -> PutOutcome:
            new.body.seek(0)
            self._client.put_object(
                Bucket=self.bucket,
                Key=new.key,
                Body=new.body,
                ContentLength=new.size,
                ContentType=new.content_type,
                IfNoneMatch="*",
                Metadata=dict(new.metadata),
                **extra,
                **self._owner,
            )
            return PutOutcome.CREATED

        return self._calls.run("PutObject", new.key, create, (_key_exists, PutOutcome.EXISTS))

    def replace(self, key: str, data: bytes) -> None:
        extra = self._encryption()

        self._calls.run(
            "PutObject",
            key,
            lambda: self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType="application/json",
                **extra,
                **self._owner,
            ),
        )

    def read(self, key: str) -> bytes | None:
        def fetch() -> bytes | None:
            answer = self._client.get_object(Bucket=self.bucket, Key=key, **self._owner)
            # Read inside the request: a failure while the body streams is translated (and
            # retried, when transient) like a failure of the GET itself.
            return answer["Body"].read()

        return self._calls.run("GetObject", key, fetch, (_key_absent, None))

    def _retention(self) -> dict[str, Any]:
        if self._object_lock is None:
            return {}
        mode, days = self._object_lock
        until = datetime.now(UTC) + timedelta(days=days)
        return {"ObjectLockMode": mode, "ObjectLockRetainUntilDate": until}

    def _encryption(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self._sse:
            extra["ServerSideEncryption"] = self._sse
        if self._kms_key_id:
            extra["SSEKMSKeyId"] = self._kms_key_id
        return extra

    def head(self, key: str) -> ObjectHead | None:
        def fetch() -> ObjectHead | None:
            answer = self._client.head_object(Bucket=self.bucket, Key=key, **self._owner)
            return ObjectHead(key, answer["ContentLength"], dict(answer.get("Metadata", {})))

        # A HEAD answer has no body, hence no error code: only the status says "absent".
        return self._calls.run("HeadObject", key, fetch, (lambda exc: _status(exc) == 404, None))

    def open(self, key: str) -> IO[bytes]:
        def fetch() -> IO[bytes]:
            answer = self._client.get_object(Bucket=self.bucket, Key=key, **self._owner)
            return answer["Body"]  # type: ignore[return-value]

        return self._calls.run("GetObject", key, fetch)

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        with self._calls.translating("ListObjectsV2", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **self._owner):
                for item in page.get("Contents", []):
                    yield item["Key"]

    def _translate(self, exc: Exception, action: str, key: str) -> KafkaBeatError:
        where = f"s3://{self.bucket}/{key}" if key else f"bucket '{self.bucket}'"
        if isinstance(exc, NoCredentialsError):
            return ConfigError(
                "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY, or run with a role"
            )
        if isinstance(exc, BotoConnectionError | HTTPClientError | ReadTimeoutError):
            return TransientError(f"{action} on {where} did not complete: {type(exc).__name__}")
        if isinstance(exc, BotoCoreError):
            return StoreError(f"{action} on {where} failed: {exc}")
        assert isinstance(exc, ClientError)
        code, status = _code(exc), _status(exc)
        if code in _TRANSIENT_CODES or status >= 500:
            return TransientError(f"{action} on {where} answered {status} {code}")
        if code == "NoSuchBucket" or (action == "HeadBucket" and status == 404):
            return ConfigError(
                f"bucket '{self.bucket}' does not exist: create it, or fix KAFKA_BEAT_DESTINATION"
            )
        if status == 403 and self._owner and code == "AccessDenied" and action == "HeadBucket":
            return AuthError(
                f"bucket '{self.bucket}' is not owned by account "
                f"{self._owner['ExpectedBucketOwner']}, or this role may not read it: check "
                "KAFKA_BEAT_DESTINATION and KAFKA_BEAT_S3_EXPECTED_BUCKET_OWNER"
            )
        if status == 403:
            return AuthError(
                f"{where} answered 403 {code} on {action}: grant {_PERMISSION.get(action, action)} "
                f"on arn:aws:s3:::{self.bucket}/{self.prefix}* to this role, "
                "or fix KAFKA_BEAT_DESTINATION"
            )
        return StoreError(f"{action} on {where} answered {status} {code}: {exc}")


# IAM actions behind each API call (HEAD needs GetObject; a 403 on it can also mean a missing
# s3:ListBucket, which turns "no such key" into "access denied").
_PERMISSION = {
    "PutObject": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject (and s3:ListBucket on the bucket)",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
}


def _key_exists(exc: ClientError) -> bool:
    """A create-only PutObject refused because the key is already there."""
    return _status(exc) == 412 or _code(exc) == "PreconditionFailed"


def _key_absent(exc: ClientError) -> bool:
    return _status(exc) == 404 or _code(exc) == "NoSuchKey"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
