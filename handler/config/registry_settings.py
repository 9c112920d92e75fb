"""The Schema Registry settings: where keys and values in Confluent's wire format (magic byte
0, a 4-byte schema id, then Avro, Protobuf or JSON Schema) find their schemas, and how a run
signs in; with the rules between them and the key and value formats."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from handler.config.values import env_name, installed

REGISTRY_ENCODINGS = ("avro", "jsonschema", "protobuf")
"""The schema types a key or value read through the Schema Registry is decoded as."""
REGISTRY_FORMATS = (*REGISTRY_ENCODINGS, "registry")
"""Key and value formats read through the Schema Registry (`registry`: whichever the schema id
names)."""


class RegistrySettings(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    schema_registry_url: str | None = None
    """Schema Registry base URL (Confluent's API, e.g. https://registry:8081, or Apicurio's
    /apis/ccompat/v7), for key or value formats avro, jsonschema, protobuf and registry."""

    schema_registry_username: str | None = None
    """HTTP basic auth user for the Schema Registry (Confluent Cloud: the API key)."""

    schema_registry_password: SecretStr | None = None
    """HTTP basic auth password (secret: also _FILE or a Secrets Manager ARN)."""

    schema_registry_bearer_token: SecretStr | None = None
    """Bearer token for the Schema Registry, instead of basic auth (secret: also _FILE or a
    Secrets Manager ARN); needs KAFKA_BEAT_SCHEMA_REGISTRY_LOGICAL_CLUSTER."""

    schema_registry_logical_cluster: str | None = None
    """The registry's logical cluster sent with a bearer token (Confluent Cloud: its lsrc-...
    id); confluent-kafka's client sends one with every token."""

    schema_registry_identity_pool: str | None = None
    """Identity pool id sent with a bearer token (Confluent Cloud, optional)."""

    schema_registry_ssl_cafile: Path | None = None
    """PEM bundle of the CAs that sign the registry's certificate (default: the system's)."""

    schema_registry_ssl_certfile: Path | None = None
    """PEM client certificate, for a registry that requires one (mTLS)."""

    schema_registry_ssl_keyfile: Path | None = None
    """PEM private key of KAFKA_BEAT_SCHEMA_REGISTRY_SSL_CERTFILE."""

    @model_validator(mode="after")
    def _registry(self) -> RegistrySettings:
        formats = {getattr(self, "key_format", None), getattr(self, "value_format", None)}
        uses_registry = bool(formats.intersection(REGISTRY_FORMATS))
        if not uses_registry and not self.schema_registry_url:
            return self
        if not self.schema_registry_url:
            raise ValueError(
                "KAFKA_BEAT_KEY_FORMAT / KAFKA_BEAT_VALUE_FORMAT avro, jsonschema, protobuf and "
                "registry read schemas from a Schema Registry: set KAFKA_BEAT_SCHEMA_REGISTRY_URL"
            )
        if not installed("fastavro") or not installed("confluent_kafka.schema_registry"):
            raise ValueError(
                "Schema Registry formats (and KAFKA_BEAT_SCHEMA_REGISTRY_URL) need fastavro and "
                "confluent-kafka's registry client, "
                "which the base install leaves out: pip install 'kafka-beat[registry]'"
            )
        registered_value = getattr(self, "value_format", None) in REGISTRY_FORMATS
        if registered_value and getattr(self, "parquet_fields", None):
            raise ValueError(
                "KAFKA_BEAT_PARQUET_FIELDS is for JSON values: with a Schema Registry value format "
                "every field of the value is a typed column already (value.<field>); unset it"
            )
        token = self.schema_registry_bearer_token is not None
        if token and self.schema_registry_username is not None:
            raise ValueError(
                "the Schema Registry takes basic auth or a bearer token, not both: unset "
                "KAFKA_BEAT_SCHEMA_REGISTRY_USERNAME/_PASSWORD or _BEARER_TOKEN"
            )
        if token and not self.schema_registry_logical_cluster:
            raise ValueError(
                "KAFKA_BEAT_SCHEMA_REGISTRY_BEARER_TOKEN needs "
                "KAFKA_BEAT_SCHEMA_REGISTRY_LOGICAL_CLUSTER (confluent-kafka's registry client "
                "sends it with the token; Confluent Cloud: the registry's lsrc-... id)"
            )
        if (self.schema_registry_username is None) != (self.schema_registry_password is None):
            raise ValueError(
                "basic auth to the Schema Registry needs both KAFKA_BEAT_SCHEMA_REGISTRY_USERNAME "
                "and KAFKA_BEAT_SCHEMA_REGISTRY_PASSWORD (or _PASSWORD_FILE)"
            )
        if (self.schema_registry_ssl_certfile is None) != (
            self.schema_registry_ssl_keyfile is None
        ):
            raise ValueError(
                "a client certificate for the Schema Registry needs both "
                "KAFKA_BEAT_SCHEMA_REGISTRY_SSL_CERTFILE and KAFKA_BEAT_SCHEMA_REGISTRY_SSL_KEYFILE"
            )
        for name in (
            "schema_registry_ssl_cafile",
            "schema_registry_ssl_certfile",
            "schema_registry_ssl_keyfile",
        ):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{env_name(name)}: '{path}' is not a readable file")
        return self
