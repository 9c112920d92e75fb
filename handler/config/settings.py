"""Settings: every knob of a run, read once from `KAFKA_BEAT_*` env vars and an optional `.env`.

Built once at the entry point and passed down; nothing else reads the environment. A bad value
becomes a `ConfigError` naming the variable and what to change, before any connection is made.
The fields and the rules between them live by area (`kafka_settings.py`,
`destination_settings.py`, `object_settings.py`, `run_settings.py`); `Settings` is all of them.
"""

from __future__ import annotations

import re

from pydantic_settings import BaseSettings, SettingsConfigDict

from handler.config.destination_settings import DestinationSettings
from handler.config.kafka_settings import KafkaSettings
from handler.config.object_settings import ObjectSettings
from handler.config.registry_settings import RegistrySettings
from handler.config.run_settings import RunSettings
from handler.config.values import ENV_PREFIX

SECRET_FIELDS = (
    "ssl_key_password",
    "sasl_password",
    "sasl_oauth_token",
    "azure_connection_string",
    "schema_registry_password",
    "schema_registry_bearer_token",
)
# The parts of an Azure connection string that are secrets of their own, should a library
# ever print one without the rest.
_CONNECTION_STRING_SECRETS = re.compile(r"(?i)(?:AccountKey|SharedAccessSignature)=([^;]+)")


# Bases in reverse order of their fields: pydantic lists the last base's fields first.
class Settings(
    RegistrySettings, RunSettings, ObjectSettings, DestinationSettings, KafkaSettings, BaseSettings
):
    """One run's configuration. Each field is `KAFKA_BEAT_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        use_attribute_docstrings=True,
    )

    def secrets(self) -> list[str]:
        """Every secret value, so logs and messages can be scrubbed of them."""
        values = [getattr(self, name) for name in SECRET_FIELDS]
        found = [value.get_secret_value() for value in values if value is not None]
        if self.azure_connection_string is not None:
            connection = self.azure_connection_string.get_secret_value()
            found.extend(_CONNECTION_STRING_SECRETS.findall(connection))
        return found
