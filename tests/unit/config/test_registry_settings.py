"""The Schema Registry settings and their rules with the key and value formats."""

from __future__ import annotations

import pytest

from handler.config.loading import load_settings
from handler.errors import ConfigError
from handler.registry.client import client_config
from tests.unit.config.test_settings import env  # noqa: F401 (a fixture)


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"value_format": "avro"}, "set KAFKA_BEAT_SCHEMA_REGISTRY_URL"),
        ({"key_format": "registry"}, "set KAFKA_BEAT_SCHEMA_REGISTRY_URL"),
        (
            {
                "value_format": "avro",
                "schema_registry_url": "http://r",
                "format": "parquet",
                "parquet_fields": "user:string",
            },
            "every field of the value is a typed column already",
        ),
        (
            {
                "value_format": "jsonschema",
                "schema_registry_url": "http://r",
                "schema_registry_username": "u",
            },
            "needs both KAFKA_BEAT_SCHEMA_REGISTRY_USERNAME",
        ),
        (
            {
                "value_format": "avro",
                "schema_registry_url": "http://r",
                "schema_registry_ssl_certfile": "/nonexistent.pem",
            },
            "KAFKA_BEAT_SCHEMA_REGISTRY_SSL_KEYFILE",
        ),
        (
            {
                "value_format": "avro",
                "schema_registry_url": "http://r",
                "schema_registry_ssl_cafile": "/nonexistent.pem",
            },
            "is not a readable file",
        ),
    ],
)
def test_refused_with_what_to_change(env, values: dict[str, str], says: str) -> None:  # noqa: F811
    env(topics="t", **values)
    with pytest.raises(ConfigError, match=says):
        load_settings()


def test_the_client_gets_the_url_credentials_and_tls(env, tmp_path) -> None:  # noqa: F811
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    env(
        topics="t",
        value_format="avro",
        schema_registry_url="https://registry:8081",
        schema_registry_username="kb",
        schema_registry_password="pw",
        schema_registry_ssl_cafile=str(ca),
    )
    settings = load_settings()
    config = client_config(settings)
    assert config["url"] == "https://registry:8081"
    assert config["basic.auth.user.info"] == "kb:pw"
    assert config["ssl.ca.location"] == str(ca)
    assert "pw" in settings.secrets()


def test_no_registry_setting_is_needed_without_a_registry_format(env) -> None:  # noqa: F811
    env(topics="t", value_format="json")
    assert load_settings().schema_registry_url is None
