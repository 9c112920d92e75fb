"""librdkafka's consumer configuration: what a run asks of confluent-kafka, and TLS and SASL
mapped from the same settings kafka-python reads (handler/kafka/kafka_python/options.py). Plain
data and callbacks: nothing here imports confluent-kafka, so it is checked without librdkafka.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from typing import Any

from handler.config.settings import Settings
from handler.errors import ConfigError
from handler.kafka.tokens import oauth_token

_MSK_REGION = re.compile(r"\.kafka(?:-serverless)?\.([a-z0-9-]+)\.amazonaws\.com")
_TOKEN_SECONDS = 3600.0
"""How long librdkafka keeps a token whose lifetime is not in it (an opaque token): it asks
the callback again at 80 % of this, so a token command is run about every 48 minutes."""

OAuthCallback = Callable[[str | None], tuple[str, float, str, dict[str, str]]]


def _jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT (unverified: only for its lifetime and subject), or {}."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


class TokenCallback:
    """librdkafka's `oauth_cb` for OAUTHBEARER: the static token, or a fresh one from the
    configured command, with the lifetime and principal librdkafka asks for."""

    def __init__(self, token: str | None, command: str | None, timeout_seconds: float) -> None:
        self._token = token
        self._command = command
        self._timeout_seconds = timeout_seconds
        self._fetched: str | None = None

    def _fetch(self) -> str:
        return oauth_token(self._token, self._command, self._timeout_seconds)

    def prefetch(self) -> None:
        """Get the first token now (AuthError if the command fails); librdkafka's first
        request for one is answered with it."""
        self._fetched = self._fetch()

    def __call__(self, _config: str | None) -> tuple[str, float, str, dict[str, str]]:
        token, self._fetched = self._fetched or self._fetch(), None
        claims = _jwt_claims(token)
        expires = claims.get("exp")
        lifetime = float(expires) if isinstance(expires, int | float) else 0.0
        if lifetime <= time.time():
            # An opaque token (or one already expired, which the broker will refuse): give it
            # a lifetime, so librdkafka asks again rather than never.
            lifetime = time.time() + _TOKEN_SECONDS
        principal = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        return token, lifetime, principal or "kafka-beat", {}


class MskTokenCallback:
    """`oauth_cb` for AWS MSK IAM: a token signed with the run's AWS credentials by
    aws-msk-iam-sasl-signer-python (MSK's own signer for librdkafka clients)."""

    def __init__(self, region: str) -> None:
        # Imported when the settings are read, so a missing signer is a configuration error
        # (exit 2) before any connection, not an exception inside librdkafka's poll.
        try:
            from aws_msk_iam_sasl_signer import MSKAuthTokenProvider  # type: ignore[import-untyped]
        except ImportError:
            raise ConfigError(
                "KAFKA_BEAT_SASL_MECHANISM=AWS_MSK_IAM with KAFKA_BEAT_KAFKA_CLIENT=confluent "
                "needs aws-msk-iam-sasl-signer-python: pip install 'kafka-beat[librdkafka]'"
            ) from None
        self._provider = MSKAuthTokenProvider
        self._region = region

    def __call__(self, _config: str | None) -> tuple[str, float, str, dict[str, str]]:
        token, expiry_ms = self._provider.generate_auth_token(self._region)
        return str(token), float(expiry_ms) / 1000, "kafka-beat", {}


def msk_region(settings: Settings) -> str:
    """The AWS region of an MSK cluster: from its broker names, else the AWS environment."""
    for server in settings.bootstrap_servers:
        found = _MSK_REGION.search(server)
        if found:
            return found.group(1)
    import boto3

    region = boto3.session.Session().region_name
    if not region:
        raise ConfigError(
            "SASL AWS_MSK_IAM: the AWS region is not in the broker names; set AWS_REGION"
        )
    return region


def security_config(settings: Settings) -> dict[str, Any]:
    """librdkafka's connection properties for the configured TLS and SASL."""
    config: dict[str, Any] = {"security.protocol": settings.security_protocol.lower()}
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        config["ssl.endpoint.identification.algorithm"] = (
            "https" if settings.ssl_check_hostname else "none"
        )
        # "probe": the system's CA store, as kafka-python uses by default (the wheel's own
        # OpenSSL does not know where this system keeps it).
        config["ssl.ca.location"] = str(settings.ssl_cafile) if settings.ssl_cafile else "probe"
        if settings.ssl_certfile is not None:
            config["ssl.certificate.location"] = str(settings.ssl_certfile)
        if settings.ssl_keyfile is not None:
            config["ssl.key.location"] = str(settings.ssl_keyfile)
        if settings.ssl_key_password is not None:
            config["ssl.key.password"] = settings.ssl_key_password.get_secret_value()
    mechanism = settings.sasl_mechanism
    if mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        assert settings.sasl_password is not None
        config["sasl.mechanism"] = mechanism
        config["sasl.username"] = settings.sasl_username
        config["sasl.password"] = settings.sasl_password.get_secret_value()
    elif mechanism == "OAUTHBEARER":
        token = settings.sasl_oauth_token
        config["sasl.mechanism"] = "OAUTHBEARER"
        config["oauth_cb"] = TokenCallback(
            token.get_secret_value() if token else None,
            settings.sasl_oauth_token_command,
            settings.kafka_timeout_seconds,
        )
    elif mechanism == "AWS_MSK_IAM":
        config["sasl.mechanism"] = "OAUTHBEARER"
        config["oauth_cb"] = MskTokenCallback(msk_region(settings))
    return config


def consumer_config(settings: Settings) -> dict[str, Any]:
    """Every librdkafka property a run sets (the benchmark's raw loop uses the same)."""
    timeout_ms = int(settings.kafka_timeout_seconds * 1000)
    return {
        "bootstrap.servers": ",".join(settings.bootstrap_servers),
        "group.id": settings.group_id,
        "client.id": settings.client_id,
        # Offsets move only through commit(), after the objects are stored.
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        # Never a silent reset: no committed offset, or one retention deleted, comes back as
        # an _AUTO_OFFSET_RESET event the run decides on (see confluent/source.py, poll).
        "auto.offset.reset": "error",
        "isolation.level": settings.isolation_level,
        # The eager strategies kafka-python uses too, so runs of both clients may share a group.
        "partition.assignment.strategy": "range,roundrobin",
        "session.timeout.ms": int(settings.session_timeout_seconds * 1000),
        "heartbeat.interval.ms": int(settings.session_timeout_seconds * 1000 / 4),
        "socket.timeout.ms": timeout_ms,
        "fetch.wait.max.ms": 200,
        # The prefetch is bounded by bytes (16 MiB for the whole consumer, whatever the number
        # of partitions), not by librdkafka's default count of 100,000 records, which stalls
        # the fetcher between consume() calls: 200k records of 250 B took 1.4 s, now 0.5 s.
        # Fetches of 4 MiB, as kafka-python's: 24 MiB less at the peak on 4 KB documents.
        "fetch.max.bytes": 4 * 1024 * 1024,
        "queued.max.messages.kbytes": 16 * 1024,
        "queued.min.messages": 1_000_000,
        # A full queue postpones the next fetch by this long (librdkafka's default is 1 s):
        # 4 KB documents filled it in a fraction of that, and the raw loop read 20,000 of them
        # a second instead of 340,000.
        "fetch.queue.backoff.ms": 10,
        "enable.partition.eof": False,
        **security_config(settings),
    }
