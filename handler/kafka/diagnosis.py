"""Why Kafka refused us: client errors and kafka-python's own log lines turned into an
AuthError that names the setting to fix."""

from __future__ import annotations

import contextlib
import logging
import re

import kafka.errors as kafka_errors

from handler.config.settings import Settings
from handler.errors import AuthError


def refusal(exc: Exception, settings: Settings) -> AuthError | None:
    """The AuthError for an authentication or authorization refusal, else None."""
    if isinstance(exc, kafka_errors.SaslAuthenticationFailedError):
        who = settings.sasl_username or "the configured identity"
        return AuthError(
            f"the brokers refused to authenticate {who} with {settings.sasl_mechanism}: check "
            "KAFKA_BEAT_SASL_USERNAME and KAFKA_BEAT_SASL_PASSWORD (or the token)"
        )
    if isinstance(exc, kafka_errors.TopicAuthorizationFailedError):
        return AuthError(
            f"not authorized to read a topic ({exc}): grant READ and DESCRIBE on the topics "
            "to this principal"
        )
    if isinstance(exc, kafka_errors.GroupAuthorizationFailedError):
        return AuthError(
            f"not authorized for group '{settings.group_id}': grant READ on the group to this "
            "principal"
        )
    if isinstance(exc, kafka_errors.AuthorizationError):
        return AuthError(f"not authorized: {exc}; grant the missing ACL to this principal")
    return None


# kafka-python reports every TLS or authentication failure during bootstrap as the same
# timeout; the cause is only in its own log lines. These patterns read it back from there.
_DIAGNOSES = (
    (
        re.compile(r"SaslAuthenticationFailed|invalid credentials|Invalid username or password"),
        "the brokers refused the credentials: check KAFKA_BEAT_SASL_USERNAME and "
        "KAFKA_BEAT_SASL_PASSWORD (or the token) and KAFKA_BEAT_SASL_MECHANISM",
    ),
    (
        re.compile(r"invalid_token"),
        "the brokers refused the OAUTHBEARER token (expired or invalid): check the token or "
        "KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND",
    ),
    (
        re.compile(r"certificate is not valid for|[Hh]ostname mismatch"),
        "the broker's certificate does not name the host connected to: bootstrap with a name in "
        "its certificate (KAFKA_BEAT_BOOTSTRAP_SERVERS)",
    ),
    (
        re.compile(r"CERTIFICATE_VERIFY_FAILED"),
        "the broker's certificate is not signed by a trusted CA: set KAFKA_BEAT_SSL_CAFILE to the "
        "CA bundle that signs it",
    ),
    (
        re.compile(r"SSLV3_ALERT_CERTIFICATE_UNKNOWN|SSLV3_ALERT_CERTIFICATE_EXPIRED"),
        "the broker refused the client certificate (expired, or not signed by a CA it trusts): "
        "check KAFKA_BEAT_SSL_CERTFILE",
    ),
    (
        re.compile(r"SSLV3_ALERT_BAD_CERTIFICATE|HANDSHAKE_FAILURE"),
        "the broker requires a client certificate: set KAFKA_BEAT_SSL_CERTFILE and "
        "KAFKA_BEAT_SSL_KEYFILE",
    ),
    (
        re.compile(r"PEM lib|bad decrypt"),
        "the client key cannot be read: check KAFKA_BEAT_SSL_KEYFILE and "
        "KAFKA_BEAT_SSL_KEY_PASSWORD",
    ),
    (
        re.compile(r"UNEXPECTED_EOF_WHILE_READING|WRONG_VERSION_NUMBER"),
        "TLS failed: the port does not speak TLS; check KAFKA_BEAT_SECURITY_PROTOCOL against the "
        "listener (PLAINTEXT or SASL_PLAINTEXT ports need no TLS)",
    ),
    (
        re.compile(r"Invalid frame length|InvalidReceiveError"),
        "the port speaks TLS: set KAFKA_BEAT_SECURITY_PROTOCOL=SSL or SASL_SSL",
    ),
)


class BootstrapWitness(logging.Handler):
    """Keeps what kafka-python says about failed connections while the consumer starts."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(record.getMessage())

    def diagnosis(self, settings: Settings) -> AuthError | None:
        text = "\n".join(self.lines)
        for pattern, advice in _DIAGNOSES:
            if pattern.search(text):
                return AuthError(advice)
        secured = settings.security_protocol != "PLAINTEXT"
        if secured and "disconnected" in text and "broker_version=(" in text:
            # TLS and the version exchange worked, then the broker hung up: what a refused
            # login looks like when kafka-python drops the broker's answer with the socket.
            return AuthError(
                "the brokers closed the connection after TLS was set up, most likely refusing "
                "the credentials: check KAFKA_BEAT_SASL_USERNAME, KAFKA_BEAT_SASL_PASSWORD "
                "and KAFKA_BEAT_SASL_MECHANISM"
            )
        return None
