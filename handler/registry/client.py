"""The Schema Registry, read with confluent-kafka's `SchemaRegistryClient` (the `registry`
extra): the schema an id names, fetched once a run (the client caches by id), with the
registry's answers turned into ours: refused credentials end the run (AuthError, exit 3), an
unknown id is the record's problem (NotDecodable), anything else that fails after the client's
retries is transient (RegistryUnavailable: the partition stores nothing it could not decode
and commits nothing past it; the other partitions go on).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from handler.config.settings import Settings
from handler.errors import AuthError, RegistryUnavailable
from handler.format.registered import NotDecodable

# Confluent's error codes: 40403 schema not found (Apicurio answers the same).
_SCHEMA_NOT_FOUND = 40403
_REFUSED = (401, 403)


class RegisteredSchema(NamedTuple):
    schema_type: str
    """AVRO, JSON or PROTOBUF."""
    text: str


class SchemaSource(Protocol):
    """Where a decoder finds the schemas ids name: the registry, or an object's footer."""

    def schema(self, schema_id: int) -> RegisteredSchema: ...

    def protobuf_files(self, schema_id: int) -> list[str]: ...


def client_config(settings: Settings) -> dict[str, Any]:
    """The `SchemaRegistryClient` configuration the settings name."""
    assert settings.schema_registry_url is not None
    config: dict[str, Any] = {
        "url": settings.schema_registry_url,
        "timeout": settings.kafka_timeout_seconds,
        "max.retries": 3,
        "retries.wait.ms": 500,
        "retries.max.wait.ms": 5000,
    }
    if settings.schema_registry_password is not None:
        password = settings.schema_registry_password.get_secret_value()
        config["basic.auth.user.info"] = f"{settings.schema_registry_username}:{password}"
    if settings.schema_registry_bearer_token is not None:
        config["bearer.auth.credentials.source"] = "STATIC_TOKEN"
        config["bearer.auth.token"] = settings.schema_registry_bearer_token.get_secret_value()
        config["bearer.auth.logical.cluster"] = settings.schema_registry_logical_cluster
        if settings.schema_registry_identity_pool:
            config["bearer.auth.identity.pool.id"] = settings.schema_registry_identity_pool
    for name, option in (
        ("schema_registry_ssl_cafile", "ssl.ca.location"),
        ("schema_registry_ssl_certfile", "ssl.certificate.location"),
        ("schema_registry_ssl_keyfile", "ssl.key.location"),
    ):
        path = getattr(settings, name)
        if path is not None:
            config[option] = str(path)
    return config


class Registry:
    """A run's Schema Registry (the decoder keeps what it fetched, by id)."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        self._url = settings.schema_registry_url
        self._credentials = (
            "KAFKA_BEAT_SCHEMA_REGISTRY_BEARER_TOKEN (and _LOGICAL_CLUSTER)"
            if settings.schema_registry_bearer_token is not None
            else "KAFKA_BEAT_SCHEMA_REGISTRY_USERNAME and KAFKA_BEAT_SCHEMA_REGISTRY_PASSWORD"
        )
        self._client = SchemaRegistryClient(client_config(settings))

    def schema(self, schema_id: int) -> RegisteredSchema:
        found = self._call(f"schema id {schema_id}", self._client.get_schema, schema_id)
        return RegisteredSchema(found.schema_type or "AVRO", found.schema_str or "")

    def protobuf_files(self, schema_id: int) -> list[str]:
        """A Protobuf schema serialized (base64 FileDescriptorProtos), after the files it
        imports, each once (the well-known google/protobuf types are the library's own)."""
        found = self._call(
            f"schema id {schema_id}", self._client.get_schema, schema_id, None, "serialized"
        )
        files: list[str] = []
        self._referenced(found.references or [], files, set())
        return [*files, found.schema_str or ""]

    def _referenced(self, references: list[Any], files: list[str], seen: set[str]) -> None:
        for reference in references:
            if reference.name in seen or reference.name.startswith("google/protobuf/"):
                continue
            seen.add(reference.name)
            version = self._call(
                f"the reference {reference.name}",
                self._client.get_version,
                reference.subject,
                reference.version,
                True,
                "serialized",
            )
            self._referenced(version.schema.references or [], files, seen)
            files.append(version.schema.schema_str or "")

    def subjects(self) -> list[str]:
        """Every subject (for `check`)."""
        return list(self._call("the subjects", self._client.get_subjects))

    def _call(self, asked: str, method: Any, *args: Any) -> Any:
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            return method(*args)
        except SchemaRegistryError as exc:
            status = exc.http_status_code
            if status in _REFUSED:
                raise AuthError(
                    f"the Schema Registry at {self._url} refused the credentials ({status}): "
                    f"check {self._credentials}"
                ) from exc
            if args and (exc.error_code == _SCHEMA_NOT_FOUND or status == 404):
                raise NotDecodable(f"{asked} is not in the Schema Registry", 1) from exc
            raise RegistryUnavailable(
                f"the Schema Registry at {self._url} answered {status} for {asked}: "
                f"{exc.error_message}"
            ) from exc
        except Exception as exc:  # the HTTP client's own errors: refused, reset, timed out
            raise RegistryUnavailable(
                f"the Schema Registry at {self._url} cannot be reached: {exc}"
            ) from exc
