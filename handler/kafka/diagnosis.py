"""Why Kafka refused us: what a client says about a failed connection (kafka-python's log
lines, librdkafka's errors) turned into advice that names the setting to fix. No client is
imported here; each client maps its own error types (kafka_python/bootstrap.py,
confluent/errors.py).
"""

from __future__ import annotations

import re
import socket
import ssl

_PROBE_SECONDS = 2.0

SPEAKS_TLS = "the port speaks TLS: set KAFKA_BEAT_SECURITY_PROTOCOL=SSL or SASL_SSL"
# The causes kafka-python gives for a failed connection that no retry can change, and the
# setting to fix for each. Earlier entries win when attempts failed for different reasons.
DIAGNOSES = (
    (
        # Before the general SASL refusal, whose name the broker's answer also carries.
        re.compile(r"invalid_token"),
        "the brokers refused the OAUTHBEARER token (expired or invalid): check the token or "
        "KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND",
    ),
    (
        re.compile(r"SaslAuthenticationFailed|invalid credentials|Invalid username or password"),
        "the brokers refused the credentials: check KAFKA_BEAT_SASL_USERNAME and "
        "KAFKA_BEAT_SASL_PASSWORD (or the token) and KAFKA_BEAT_SASL_MECHANISM",
    ),
    (
        re.compile(r"UnsupportedSaslMechanism|does not support \S+ sasl mechanism"),
        "the listener does not enable this SASL mechanism: set KAFKA_BEAT_SASL_MECHANISM to one "
        "the brokers list in sasl.enabled.mechanisms",
    ),
    (
        re.compile(r"IllegalSaslState"),
        "the listener does not use SASL: set KAFKA_BEAT_SECURITY_PROTOCOL to PLAINTEXT or SSL, "
        "or bootstrap from the SASL listener's port",
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
        re.compile(r"SSLV3_ALERT_BAD_CERTIFICATE|HANDSHAKE_FAILURE|CERTIFICATE_REQUIRED"),
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
        SPEAKS_TLS,
    ),
    (
        # Any other TLS error (protocol version, ciphers): a setting, not the network.
        re.compile(r"\[SSL"),
        "the TLS handshake with the broker failed: check KAFKA_BEAT_SECURITY_PROTOCOL and the "
        "KAFKA_BEAT_SSL_* settings against the listener",
    ),
)
CLOSED_IN_SASL = (
    "the brokers closed the connection after TLS was set up, most likely refusing the "
    "credentials: check KAFKA_BEAT_SASL_USERNAME, KAFKA_BEAT_SASL_PASSWORD and "
    "KAFKA_BEAT_SASL_MECHANISM"
)
CLOSED_IN_OAUTHBEARER = (
    "the brokers closed the connection during SASL OAUTHBEARER, most likely refusing the "
    "token (expired or invalid): check the token or KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND, and "
    "KAFKA_BEAT_SASL_MECHANISM"
)
# How the peer hung up on a connection that was set up (not one that could not be made).
HUNG_UP = re.compile(r"socket disconnected|Connection reset|Broken pipe")


def advice(text: str) -> str | None:
    for pattern, advice in DIAGNOSES:
        if pattern.search(text):
            return advice
    return None


def speaks_tls(server: str, timeout_seconds: float = _PROBE_SECONDS) -> bool:
    """Whether `server` (host:port) answers a TLS ClientHello with TLS. Only the protocol is
    in question, so the certificate is not checked; an alert from the peer (a listener that
    wants a client certificate) is TLS too."""
    host, _, port = server.rpartition("://")[2].rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host.strip("[]"), int(port)), timeout_seconds) as raw,
            context.wrap_socket(raw),
        ):
            return True
    except ssl.SSLError as exc:
        return "ALERT" in str(exc.reason)
    except (OSError, ValueError):
        return False
