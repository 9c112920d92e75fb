"""kafka-python's consumer options: what a run asks of the client, and TLS and SASL mapped
from the settings (the benchmark's raw loop uses the same options, so it measures the same
client)."""

from __future__ import annotations

from typing import Any

from kafka.net.sasl.oauth import AbstractTokenProvider

from handler.config.settings import Settings
from handler.kafka.tokens import oauth_token


class _TokenProvider(AbstractTokenProvider):  # type: ignore[misc]
    """OAUTHBEARER tokens: the static one, or a fresh one from the configured command."""

    def __init__(self, token: str | None, command: str | None, timeout_seconds: float) -> None:
        self._token = token
        self._command = command
        self._timeout_seconds = timeout_seconds

    def token(self) -> str:
        return oauth_token(self._token, self._command, self._timeout_seconds)


def security_options(settings: Settings) -> dict[str, Any]:
    """kafka-python's connection options for the configured TLS and SASL."""
    options: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_check_hostname"] = settings.ssl_check_hostname
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(settings, name)
            if path is not None:
                options[name] = str(path)
        if settings.ssl_key_password is not None:
            options["ssl_password"] = settings.ssl_key_password.get_secret_value()
    mechanism = settings.sasl_mechanism
    if mechanism:
        options["sasl_mechanism"] = mechanism
    if mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        assert settings.sasl_password is not None
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    elif mechanism == "OAUTHBEARER":
        token = settings.sasl_oauth_token
        options["sasl_oauth_token_provider"] = _TokenProvider(
            token.get_secret_value() if token else None,
            settings.sasl_oauth_token_command,
            settings.kafka_timeout_seconds,
        )
    return options


def consumer_options(settings: Settings, max_poll_records: int = 2000) -> dict[str, Any]:
    """Every KafkaConsumer option a run uses (the benchmark's raw loop uses the same)."""
    timeout_ms = int(settings.kafka_timeout_seconds * 1000)
    return {
        "bootstrap_servers": list(settings.bootstrap_servers),
        "group_id": settings.group_id,
        "client_id": settings.client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "none",
        "isolation_level": settings.isolation_level,
        "max_poll_records": max_poll_records,
        "request_timeout_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
        "fetch_max_wait_ms": 200,
        # kafka-python waits out a bootstrap server's backoff when it picks that one again,
        # and its backoff doubles to 30 s: with one of two servers refusing, a start could
        # spend its whole timeout waiting on the refusing one. A scheduled run that lost a
        # broker for a moment also gets it back within 2 s, not 30.
        "reconnect_backoff_max_ms": 2000,
        # The client's own metrics cost time per fetch and nobody reads them here.
        "metrics_enabled": False,
        # Bounds what one fetch may buffer, so memory does not grow with partitions. kafka-python
        # holds a response and the next one prefetched as Python objects: at 64 partitions,
        # 16 MiB fetches peaked 75 MiB higher than 4 MiB ones at the same records/s.
        "fetch_max_bytes": 4 * 1024 * 1024,
        "session_timeout_ms": int(settings.session_timeout_seconds * 1000),
        "heartbeat_interval_ms": int(settings.session_timeout_seconds * 1000 / 4),
        **security_options(settings),
    }
