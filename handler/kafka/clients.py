"""Which client reads Kafka (KAFKA_BEAT_KAFKA_CLIENT): the one place that picks a `Source`
implementation, so the protocol module imports none and each client is imported only when
chosen."""

from __future__ import annotations

from handler.config.settings import Settings
from handler.kafka.source import Source


def open_source(settings: Settings) -> Source:
    """The source of the configured client, connected (a refused bootstrap raises AuthError,
    an unreachable one SourceError after KAFKA_BEAT_KAFKA_TIMEOUT_SECONDS)."""
    if settings.kafka_client == "confluent":
        from handler.kafka.confluent.source import ConfluentSource

        return ConfluentSource(settings)
    from handler.kafka.kafka_python.source import KafkaPythonSource

    return KafkaPythonSource(settings)
