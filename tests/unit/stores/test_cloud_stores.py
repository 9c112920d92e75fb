"""The GCS and Azure stores without a server: credentials chosen the ecosystems' way (and
never fetched here: no request leaves the machine), endpoints held to TLS, metadata names
mapped reversibly for Azure, and each library's errors translated into the one hierarchy."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import SecretStr

from handler.errors import AuthError, ConfigError, StoreError, TransientError
from handler.format import layout
from tests.support.runs import ROOT, environment

KB_NAMES = [
    value for name, value in vars(layout).items() if name.startswith("META_") and "-" in value
]


def test_the_base_install_imports_no_cloud_library(tmp_path) -> None:
    """A local or S3 run, check, decode: google and azure stay unimported (they are extras)."""
    program = (
        "import sys\n"
        "from handler.commands import cli, check, decode, status, verify\n"
        "from handler.config.settings import Settings\n"
        "from handler.stores import open_store\n"
        f"open_store(Settings(bootstrap_servers='b:1', group_id='g', topics='t', "
        f"destination={str(tmp_path)!r}))\n"
        "loaded = [m for m in sys.modules if m.startswith(('google', 'azure'))]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", program], env=environment(), cwd=ROOT, check=True)


def test_gcs_uses_application_default_credentials(monkeypatch) -> None:
    import google.auth
    from google.auth.credentials import AnonymousCredentials

    from handler.stores import gcs

    asked = []

    def default(scopes=None):
        asked.append(scopes)
        return AnonymousCredentials(), "my-project"

    monkeypatch.setattr(google.auth, "default", default)
    client = gcs.gcs_client(None)
    assert asked == [["https://www.googleapis.com/auth/devstorage.read_write"]]
    assert client.project == "my-project"


def test_gcs_without_credentials_is_a_config_error(monkeypatch) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    from handler.stores import gcs

    def default(scopes=None):
        raise DefaultCredentialsError("none")

    monkeypatch.setattr(google.auth, "default", default)
    with pytest.raises(ConfigError, match=r"no Google credentials found.*application-default"):
        gcs.gcs_client(None)


def test_an_emulator_on_this_machine_gets_anonymous_credentials(monkeypatch) -> None:
    import google.auth
    from google.auth.credentials import AnonymousCredentials

    from handler.stores import gcs

    monkeypatch.setattr(google.auth, "default", lambda **_: pytest.fail("ADC was asked"))
    client = gcs.gcs_client("http://127.0.0.1:4443")
    assert isinstance(client._credentials, AnonymousCredentials)
    with pytest.raises(ConfigError, match=r"KAFKA_BEAT_GCS_ENDPOINT_URL .* is not HTTPS"):
        gcs.gcs_client("http://gcs.internal:4443")


def test_azure_account_url_uses_default_azure_credential() -> None:
    from azure.identity import DefaultAzureCredential

    from handler.stores.azure import azure_service

    service = azure_service("https://acct.blob.core.windows.net", None)
    assert isinstance(service.credential, DefaultAzureCredential)
    assert service.account_name == "acct"
    with pytest.raises(ConfigError, match=r"KAFKA_BEAT_AZURE_ACCOUNT_URL .* is not HTTPS"):
        azure_service("http://acct.blob.example.com", None)


def test_azure_connection_strings_are_checked_and_never_quoted() -> None:
    from handler.stores.azure import azure_service

    with pytest.raises(ConfigError, match="not a valid Azure Storage connection string") as bad:
        azure_service(None, SecretStr("Kb-Leak-Canary;;="))
    assert "Kb-Leak" not in str(bad.value)
    remote_http = (
        "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=S2ItTGVhaw==;"
        "BlobEndpoint=http://blobs.example.com/acct;"
    )
    with pytest.raises(ConfigError, match="is not HTTPS") as plain:
        azure_service(None, SecretStr(remote_http))
    assert "S2ItTGVhaw" not in str(plain.value)


def test_azure_metadata_names_map_reversibly() -> None:
    from handler.stores.azure import from_azure_metadata, to_azure_metadata

    metadata = {name: "1" for name in KB_NAMES}
    stored = to_azure_metadata(metadata)
    assert all(name.isidentifier() for name in stored)
    assert "kb_next" in stored and from_azure_metadata(stored) == metadata
    with pytest.raises(StoreError, match="underscore"):
        to_azure_metadata({"kb_next": "1"})


def _azure_error(status: int, code: str):
    from azure.core.exceptions import HttpResponseError

    error = HttpResponseError(message=f"{code} happened")
    error.status_code = status
    error.error_code = code
    return error


@pytest.mark.parametrize(
    ("status", "code", "kind", "says"),
    [
        (503, "ServerBusy", TransientError, "answered 503 ServerBusy"),
        (500, "InternalError", TransientError, "answered 500"),
        (429, "TooManyRequests", TransientError, "answered 429"),
        (404, "ContainerNotFound", ConfigError, "container 'logs' does not exist"),
        (403, "AuthorizationPermissionMismatch", AuthError, "blobs/write on container 'logs'"),
        (403, "AuthenticationFailed", AuthError, "refused these credentials"),
        (400, "InvalidMetadata", StoreError, "answered 400 InvalidMetadata"),
    ],
)
def test_azure_errors_are_translated(status, code, kind, says) -> None:
    from azure.storage.blob import ContainerClient

    from handler.stores.azure import AzureBlobStore

    container = ContainerClient("https://acct.blob.core.windows.net", "logs")
    store = AzureBlobStore(container, "p")
    translated = store._translate(_azure_error(status, code), "PutBlob", "p/k")
    assert type(translated) is kind and says in str(translated)


def test_azure_credentials_that_cannot_be_used_are_a_config_error() -> None:
    from azure.core.exceptions import ClientAuthenticationError

    from handler.stores.azure import AzureBlobStore, azure_service

    unusable = ClientAuthenticationError("no token")  # no response: refused before sending
    with_identity = azure_service("https://acct.blob.core.windows.net", None)
    store = AzureBlobStore(with_identity.get_container_client("logs"), "")
    translated = store._translate(unusable, "ListBlobs", "")
    assert isinstance(translated, ConfigError) and "DefaultAzureCredential" in str(translated)
    with_key = azure_service(None, SecretStr("AccountName=acct;AccountKey=S2ItTGVhaw=="))
    store = AzureBlobStore(with_key.get_container_client("logs"), "")
    translated = store._translate(unusable, "ListBlobs", "")
    assert isinstance(translated, ConfigError)
    assert "account key in KAFKA_BEAT_AZURE_CONNECTION_STRING" in str(translated)


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (503, TransientError, "answered 503"),
        (429, TransientError, "answered 429"),
        (403, AuthError, "grant storage.objects.create on bucket 'logs'"),
        (401, AuthError, "credentials were not accepted"),
        (404, ConfigError, "bucket 'logs' does not exist"),
        (400, StoreError, "answered 400"),
    ],
)
def test_gcs_errors_are_translated(status, kind, says) -> None:
    from google.api_core import exceptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from handler.stores.gcs import GCSStore

    client = storage.Client(project="p", credentials=AnonymousCredentials())
    store = GCSStore(client, "logs", "p")
    error = exceptions.from_http_status(status, "refused")
    translated = store._translate(error, "objects.insert", "p/k")
    assert type(translated) is kind and says in str(translated)
