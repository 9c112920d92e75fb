"""Azure Blob Storage as the destination; the only module that imports the Azure libraries.

Create-only writes upload with `If-None-Match: *` (`overwrite=False`): Azure answers 409
BlobAlreadyExists (or 412 for a block list committed over a blob that appeared meanwhile) when
the name is taken. A large body goes up as blocks that become the blob only when the block
list is committed, under the same condition, so a loser never shows through. The SDK's own
retries are off (`retry_total=0`) so that tenacity alone decides, with the one policy.

Credentials: a connection string (KAFKA_BEAT_AZURE_CONNECTION_STRING, a secret: an account key
or a SAS), or the account URL (KAFKA_BEAT_AZURE_ACCOUNT_URL) with `DefaultAzureCredential`
(managed identity, workload identity, environment, Azure CLI).

Azure metadata names must be C# identifiers, so `kb-next` is stored as `kb_next`; `head` gives
the `kb-*` names back.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, TypeVar

from azure.core import exceptions as azure_exceptions
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings
from pydantic import SecretStr

from handler.config.settings import Settings
from handler.errors import AuthError, ConfigError, KafkaBeatError, StoreError, TransientError
from handler.stores.base import NewObject, ObjectHead, PutOutcome
from handler.stores.remote import StoreCalls, downloaded, require_tls

T = TypeVar("T")

_TRANSIENT_STATUS = frozenset({408, 429})
_TRANSIENT_CODES = frozenset({"ServerBusy", "InternalError", "OperationTimedOut"})
_ERRORS = (azure_exceptions.AzureError,)
_REFUSAL = azure_exceptions.HttpResponseError
"""An answer of the service (with an error code), rather than a failure to reach it."""
_EXISTS_CODES = frozenset({"BlobAlreadyExists", "ConditionNotMet"})
_ABSENT_CODES = frozenset({"BlobNotFound"})

# The data actions each call needs (an RBAC role, e.g. Storage Blob Data Contributor on the
# container, or a custom role with blobs/read and blobs/write; a SAS needs r, c, w and l).
_PERMISSION = {
    "PutBlob": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "GetBlob": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "GetBlobProperties": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "ListBlobs": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
}


def to_azure_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """`kb-next` → `kb_next`: Azure metadata names must be C# identifiers. Names that hold an
    underscore already are refused, so the mapping stays reversible."""
    for name in metadata:
        if "_" in name:
            raise StoreError(f"metadata name {name!r} has an underscore; Azure names could not")
    return {name.replace("-", "_"): value for name, value in metadata.items()}


def from_azure_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in metadata.items()}


def azure_service(
    account_url: str | None,
    connection_string: SecretStr | None,
    block_bytes: int | None = None,
) -> BlobServiceClient:
    """A service client from a connection string, or from the account URL with
    DefaultAzureCredential (imported only then). `block_bytes`: upload bodies larger than
    this as blocks of this size (default: the SDK's, 64 MiB single puts, 4 MiB blocks)."""
    options: dict[str, Any] = {"retry_total": 0, "connection_timeout": 10, "read_timeout": 60}
    if block_bytes is not None:
        options |= {"max_single_put_size": block_bytes, "max_block_size": block_bytes}
    if connection_string is not None:
        try:
            service = BlobServiceClient.from_connection_string(
                connection_string.get_secret_value(), **options
            )
        except ValueError:
            # The SDK's message can quote the string; ours names only the variable.
            raise ConfigError(
                "KAFKA_BEAT_AZURE_CONNECTION_STRING is not a valid Azure Storage connection "
                "string (AccountName=…;AccountKey=… or BlobEndpoint=…;SharedAccessSignature=…)"
            ) from None
        require_tls("the blob endpoint of KAFKA_BEAT_AZURE_CONNECTION_STRING", service.url)
        return service
    if account_url is None:
        raise ConfigError(
            "an az:// destination needs KAFKA_BEAT_AZURE_ACCOUNT_URL "
            "(https://ACCOUNT.blob.core.windows.net) or KAFKA_BEAT_AZURE_CONNECTION_STRING"
        )
    require_tls("KAFKA_BEAT_AZURE_ACCOUNT_URL", account_url)
    from azure.identity import DefaultAzureCredential

    return BlobServiceClient(account_url, credential=DefaultAzureCredential(), **options)


class AzureBlobStore:
    def __init__(
        self,
        container: ContainerClient,
        prefix: str,
        attempts: int = 6,
    ) -> None:
        self._container = container
        self.container = container.container_name
        self.account = container.account_name or ""
        self.prefix = prefix
        # A token credential (DefaultAzureCredential), not a key or SAS from a connection string.
        self._uses_token = hasattr(container.credential, "get_token")
        self._calls = StoreCalls(_ERRORS, _REFUSAL, self._translate, attempts)

    @classmethod
    def from_settings(cls, settings: Settings) -> AzureBlobStore:
        target = settings.target()
        service = azure_service(settings.azure_account_url, settings.azure_connection_string)
        return cls(
            service.get_container_client(target.bucket),
            target.prefix,
            attempts=settings.upload_attempts,
        )

    @classmethod
    def for_reading(cls, container: str, prefix: str, account_url: str | None) -> AzureBlobStore:
        if account_url is None:
            raise ConfigError(
                "reading az:// needs --endpoint-url https://ACCOUNT.blob.core.windows.net "
                "(the storage account, read with DefaultAzureCredential)"
            )
        return cls(azure_service(account_url, None).get_container_client(container), prefix)

    def describe(self) -> str:
        return f"az://{self.container}/{self.prefix}".rstrip("/") + f" (account {self.account})"

    def check(self) -> None:
        def first() -> str | None:
            names = self._container.list_blob_names(
                name_starts_with=self.prefix or None, results_per_page=1
            )
            return next(iter(names), None)

        self._calls.run("ListBlobs", "", first)

    def put_if_absent(self, new: NewObject) -> PutOutcome:
        stored = to_azure_metadata(new.metadata)

        def create() -> PutOutcome:
            new.body.seek(0)
            # validate_content: an MD5 per request, which Azure checks before it stores.
            self._container.upload_blob(
                new.key,
                new.body,
                length=new.size,
                overwrite=False,
                metadata=stored,
                content_settings=ContentSettings(content_type=new.content_type),
                validate_content=True,
                max_concurrency=1,
            )
            return PutOutcome.CREATED

        return self._calls.run(
            "PutBlob", new.key, create, (_coded(_EXISTS_CODES), PutOutcome.EXISTS)
        )

    def replace(self, key: str, data: bytes) -> None:
        self._calls.run(
            "PutBlob",
            key,
            lambda: self._container.upload_blob(
                key,
                data,
                overwrite=True,
                content_settings=ContentSettings(content_type="application/json"),
            ),
        )

    def head(self, key: str) -> ObjectHead | None:
        def fetch() -> ObjectHead | None:
            properties = self._container.get_blob_client(key).get_blob_properties()
            return ObjectHead(key, properties.size, from_azure_metadata(properties.metadata))

        return self._calls.run("GetBlobProperties", key, fetch, (_coded(_ABSENT_CODES), None))

    def read(self, key: str) -> bytes | None:
        def fetch() -> bytes | None:
            return self._container.download_blob(key, max_concurrency=1).readall()

        return self._calls.run("GetBlob", key, fetch, (_coded(_ABSENT_CODES), None))

    def open(self, key: str) -> IO[bytes]:
        """The blob's bytes, downloaded whole into a spooled file under the retry policy."""

        def fetch() -> IO[bytes]:
            return downloaded(self._container.download_blob(key, max_concurrency=1).readinto)

        return self._calls.run("GetBlob", key, fetch)

    def list_keys(self, prefix: str) -> Iterator[str]:
        with self._calls.translating("ListBlobs", prefix):
            yield from self._container.list_blob_names(name_starts_with=prefix or None)

    def _translate(self, exc: azure_exceptions.AzureError, action: str, key: str) -> KafkaBeatError:
        where = f"az://{self.container}/{key}" if key else f"container '{self.container}'"
        if _is_missing_credential(exc) and not self._uses_token:
            return ConfigError(
                "the account key in KAFKA_BEAT_AZURE_CONNECTION_STRING cannot sign requests "
                "(it must be the whole base64 key): copy the connection string again from the "
                "storage account's access keys"
            )
        if _is_missing_credential(exc):
            return ConfigError(
                "no Azure credentials could be used: set KAFKA_BEAT_AZURE_CONNECTION_STRING, or "
                "give DefaultAzureCredential an identity (managed identity, workload identity, "
                "AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or `az login`)"
            )
        if isinstance(
            exc, azure_exceptions.ServiceRequestError | azure_exceptions.ServiceResponseError
        ):
            return TransientError(f"{action} on {where} did not complete: {type(exc).__name__}")
        if not isinstance(exc, azure_exceptions.HttpResponseError):
            return StoreError(f"{action} on {where} failed: {type(exc).__name__}")
        status, code = int(exc.status_code or 0), _code(exc)
        if status in _TRANSIENT_STATUS or status >= 500 or code in _TRANSIENT_CODES:
            return TransientError(f"{action} on {where} answered {status} {code}")
        if code == "ContainerNotFound":
            return ConfigError(
                f"container '{self.container}' does not exist in account '{self.account}': "
                "create it, or fix KAFKA_BEAT_DESTINATION"
            )
        if code == "AuthorizationPermissionMismatch" or (
            status == 403 and code.startswith("AuthorizationResourceType")
        ):
            return AuthError(
                f"{where} answered 403 {code} on {action}: grant "
                f"{_PERMISSION.get(action, action)} on container '{self.container}' to this "
                "identity (e.g. the Storage Blob Data Contributor role), or fix "
                "KAFKA_BEAT_DESTINATION"
            )
        if status in (401, 403) or isinstance(exc, azure_exceptions.ClientAuthenticationError):
            return AuthError(
                f"{where} answered {status} {code} on {action}: the account refused these "
                "credentials (a wrong or rotated key, an expired SAS, or a network rule); fix "
                "KAFKA_BEAT_AZURE_CONNECTION_STRING or the identity DefaultAzureCredential uses"
            )
        return StoreError(f"{action} on {where} answered {status} {code}: {exc.reason}")


def _coded(codes: frozenset[str]) -> Callable[[azure_exceptions.HttpResponseError], bool]:
    """A refusal with one of these Azure error codes."""
    return lambda exc: _code(exc) in codes


def _code(exc: azure_exceptions.HttpResponseError) -> str:
    code = getattr(exc, "error_code", None)  # set by azure-storage-blob's own errors
    if isinstance(code, enum.Enum):
        return str(code.value)
    return str(code or "")


def _is_missing_credential(exc: azure_exceptions.AzureError) -> bool:
    """No token could be had (DefaultAzureCredential found no identity that works): refused
    before any request reached the account, so there is no response."""
    return isinstance(exc, azure_exceptions.ClientAuthenticationError) and exc.response is None
