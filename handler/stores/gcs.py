"""Google Cloud Storage as the destination; the only module that imports the Google libraries.

Create-only writes upload with `ifGenerationMatch=0`: GCS answers 412 when a live object already
has the name. The library's own retries are off (`retry=None` on every call) so that tenacity
alone decides, with the one policy: retry what can succeed on retry (429, 408, 5xx, dropped
connections, timeouts), fail at once on the rest.

Credentials are Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
application-default login, or the attached service account); an emulator on this machine
(KAFKA_BEAT_GCS_ENDPOINT_URL=http://127.0.0.1:…) is used with anonymous credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

import google.auth
import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import storage
from google.cloud.storage import exceptions as storage_exceptions

from handler.config.settings import Settings
from handler.errors import AuthError, ConfigError, KafkaBeatError, StoreError, TransientError
from handler.stores.base import NewObject, ObjectHead, PutOutcome
from handler.stores.remote import StoreCalls, downloaded, is_local_http, require_tls

T = TypeVar("T")

_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
_ERRORS = (
    api_exceptions.GoogleAPIError,
    auth_exceptions.GoogleAuthError,
    storage_exceptions.InvalidResponse,
    storage_exceptions.DataCorruption,
    requests.RequestException,
)
_REFUSAL = api_exceptions.GoogleAPICallError
"""An answer of the service (with an HTTP status), rather than a failure to reach it."""
_TRANSIENT_STATUS = frozenset({408, 429})

# IAM permissions behind each JSON API call (an overwrite, as `replace` does, also needs
# storage.objects.delete on the object it replaces).
_PERMISSION = {
    "objects.insert": "storage.objects.create",
    "objects.insert (overwrite)": "storage.objects.create and storage.objects.delete",
    "objects.get": "storage.objects.get",
    "objects.list": "storage.objects.list",
}


def gcs_client(endpoint_url: str | None) -> storage.Client:
    """A client for GCS, or for the emulator at `endpoint_url`."""
    require_tls("KAFKA_BEAT_GCS_ENDPOINT_URL", endpoint_url)
    credentials: Credentials
    project: str | None
    if endpoint_url and is_local_http(endpoint_url):
        credentials, project = AnonymousCredentials(), "kafka-beat-emulator"  # type: ignore[no-untyped-call]
    else:
        try:
            credentials, project = google.auth.default(scopes=[_SCOPE])
        except auth_exceptions.DefaultCredentialsError as exc:
            raise ConfigError(
                "no Google credentials found: run `gcloud auth application-default login`, set "
                "GOOGLE_APPLICATION_CREDENTIALS to a credentials file, or run with an attached "
                "service account (Application Default Credentials)"
            ) from exc
    options = {"api_endpoint": endpoint_url} if endpoint_url else None
    return storage.Client(project=project, credentials=credentials, client_options=options)


class GCSStore:
    def __init__(
        self,
        client: storage.Client,
        bucket: str,
        prefix: str,
        attempts: int = 6,
    ) -> None:
        self._client = client
        self._bucket = client.bucket(bucket)
        self.bucket = bucket
        self.prefix = prefix
        self._calls = StoreCalls(_ERRORS, _REFUSAL, self._translate, attempts)

    @classmethod
    def from_settings(cls, settings: Settings) -> GCSStore:
        target = settings.target()
        return cls(
            gcs_client(settings.gcs_endpoint_url),
            target.bucket,
            target.prefix,
            attempts=settings.upload_attempts,
        )

    @classmethod
    def for_reading(cls, bucket: str, prefix: str, endpoint_url: str | None) -> GCSStore:
        return cls(gcs_client(endpoint_url), bucket, prefix)

    def describe(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}".rstrip("/")

    def check(self) -> None:
        # Listing needs only storage.objects.list, which a run needs anyway (a bucket-level
        # GET would need storage.buckets.get, which object roles do not grant).
        self._calls.run("objects.list", "", lambda: self._first_key(self.prefix))

    def _first_key(self, prefix: str) -> str | None:
        listing = self._client.list_blobs(
            self._bucket, prefix=prefix, max_results=1, retry=None, timeout=_TIMEOUT
        )
        return next((blob.name for blob in listing), None)

    def put_if_absent(self, new: NewObject) -> PutOutcome:
        def create() -> PutOutcome:
            new.body.seek(0)
            blob = self._bucket.blob(new.key)
            blob.metadata = dict(new.metadata)
            # The library sends the body's CRC32C, which GCS checks before it stores anything.
            blob.upload_from_file(
                new.body,
                size=new.size,
                content_type=new.content_type,
                if_generation_match=0,
                retry=None,
                timeout=_TIMEOUT,
            )
            return PutOutcome.CREATED

        return self._calls.run("objects.insert", new.key, create, (_status(412), PutOutcome.EXISTS))

    def replace(self, key: str, data: bytes) -> None:
        self._calls.run(
            "objects.insert (overwrite)",
            key,
            lambda: self._bucket.blob(key).upload_from_string(
                data, content_type="application/json", retry=None, timeout=_TIMEOUT
            ),
        )

    def head(self, key: str) -> ObjectHead | None:
        def fetch() -> ObjectHead | None:
            blob = self._bucket.get_blob(key, retry=None, timeout=_TIMEOUT)
            if blob is None:
                return None
            return ObjectHead(key, int(blob.size or 0), dict(blob.metadata or {}))

        return self._calls.run("objects.get", key, fetch)

    def read(self, key: str) -> bytes | None:
        def fetch() -> bytes | None:
            data: bytes = self._bucket.blob(key).download_as_bytes(retry=None, timeout=_TIMEOUT)
            return data

        return self._calls.run("objects.get", key, fetch, (_status(404), None))

    def open(self, key: str) -> IO[bytes]:
        """The object's bytes, downloaded whole into a spooled file under the retry policy."""

        def fetch() -> IO[bytes]:
            blob = self._bucket.blob(key)
            return downloaded(
                lambda file: blob.download_to_file(file, retry=None, timeout=_TIMEOUT)
            )

        return self._calls.run("objects.get", key, fetch)

    def list_keys(self, prefix: str) -> Iterator[str]:
        with self._calls.translating("objects.list", prefix):
            for blob in self._client.list_blobs(
                self._bucket, prefix=prefix, retry=None, timeout=_TIMEOUT
            ):
                yield blob.name

    def _translate(self, exc: Exception, action: str, key: str) -> KafkaBeatError:
        where = f"gs://{self.bucket}/{key}" if key else f"bucket '{self.bucket}'"
        if isinstance(exc, auth_exceptions.RefreshError):
            return AuthError(
                f"Google refused to issue a token for these credentials ({action} on {where}): "
                "renew them (gcloud auth application-default login) or fix "
                "GOOGLE_APPLICATION_CREDENTIALS"
            )
        if isinstance(
            exc,
            requests.RequestException
            | auth_exceptions.TransportError
            | storage_exceptions.DataCorruption,
        ):
            return TransientError(f"{action} on {where} did not complete: {type(exc).__name__}")
        if not isinstance(exc, api_exceptions.GoogleAPICallError):
            return StoreError(f"{action} on {where} failed: {type(exc).__name__}: {exc}")
        status = int(exc.code or 0)
        if status in _TRANSIENT_STATUS or status >= 500:
            return TransientError(f"{action} on {where} answered {status}")
        if status == 404 and (action.startswith("objects.insert") or action == "objects.list"):
            return ConfigError(
                f"bucket '{self.bucket}' does not exist: create it, or fix KAFKA_BEAT_DESTINATION"
            )
        if status == 401:
            return AuthError(
                f"{where} answered 401 on {action}: the credentials were not accepted; renew "
                "them or fix GOOGLE_APPLICATION_CREDENTIALS"
            )
        if status == 403:
            return AuthError(
                f"{where} answered 403 on {action}: grant {_PERMISSION.get(action, action)} on "
                f"bucket '{self.bucket}' to this identity (e.g. roles/storage.objectUser, "
                "conditioned on the prefix), or fix KAFKA_BEAT_DESTINATION"
            )
        return StoreError(f"{action} on {where} answered {status}: {_first_line(exc)}")


def _first_line(exc: api_exceptions.GoogleAPICallError) -> str:
    message: Any = exc.message
    return str(message).splitlines()[0] if message else type(exc).__name__


def _status(code: int) -> Callable[[api_exceptions.GoogleAPICallError], bool]:
    """A refusal with this HTTP status (412: the name is taken; 404: nothing there)."""
    return lambda exc: exc.code == code
