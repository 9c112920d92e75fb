"""Why librdkafka could not start: what it says about each bootstrap connection (its error
callback and its log lines), turned into the AuthError kafka-python's refusals give
(diagnosis.DIAGNOSES), so a refusal ends the start at once with the setting to fix.

librdkafka retries a refused connection like an unreachable one, for ever; it only says why.
Each line about a connection names the broker (``sasl_ssl://127.0.0.1:9093/bootstrap: ...``).
The start is refused once the latest word about every bootstrap server is a refusal: one
server refusing while another may still answer is not final. Two causes need a probe, as
with kafka-python: a plaintext connection closed unanswered (a TLS port, or no Kafka: one TLS
handshake tells), and a certificate that does not verify (its CA, or only its name: one
handshake without the name check tells). No client is imported here.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading

from handler.config.settings import Settings
from handler.errors import AuthError
from handler.kafka.diagnosis import SPEAKS_TLS, advice, speaks_tls

_PROBE_SECONDS = 2.0
# "sasl_ssl://127.0.0.1:9093/bootstrap: ..." (no scheme under PLAINTEXT).
_BROKER = re.compile(r"^(?:\w+://)?([^/\s]+)/bootstrap: ")
_UNANSWERED = re.compile(
    r"Disconnected while requesting ApiVersion|Disconnected.*in state APIVERSION_QUERY"
)
_THREAD = re.compile(r"\[thrd:[^\]]*\]: (.*)$", re.DOTALL)
# librdkafka's words for a refused connection, and the kafka-python cause (a DIAGNOSES key)
# whose advice fits; earlier entries win. None: decided by a probe or the settings.
_CAUSES: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"invalid_token"), "invalid_token"),
    (re.compile(r"Authentication failed|invalid credentials"), "SaslAuthenticationFailed"),
    (re.compile(r"[Uu]nsupported SASL mechanism"), "UnsupportedSaslMechanism"),
    (re.compile(r"not valid in current SASL state|[Ii]llegal SASL state"), "IllegalSaslState"),
    (re.compile(r"certificate verify failed"), None),
    (
        re.compile(r"alert certificate (unknown|expired)|alert unknown ca"),
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    ),
    (re.compile(r"alert bad certificate"), None),
    (re.compile(r"alert handshake failure|certificate required"), "HANDSHAKE_FAILURE"),
    (re.compile(r"ssl\.key|private key|bad decrypt|PEM lib"), "PEM lib"),
    (
        re.compile(
            r"connecting to a PLAINTEXT broker listener|wrong version number|packet length too "
            r"long|unexpected eof"
        ),
        "WRONG_VERSION_NUMBER",
    ),
    (_UNANSWERED, None),
    (re.compile(r"SSL handshake failed"), "[SSL"),
)


def verifies_without_hostname(server: str, settings: Settings) -> bool:
    """Whether the certificate of `server` (host:port) verifies against the configured CAs
    when its name is not checked: then only the name was wrong."""
    host, _, port = server.rpartition(":")
    context = ssl.create_default_context(cafile=settings.ssl_cafile)
    context.check_hostname = False
    try:
        with (
            socket.create_connection((host.strip("[]"), int(port)), _PROBE_SECONDS) as raw,
            context.wrap_socket(raw),
        ):
            return True
    except ssl.SSLCertVerificationError:
        return False
    except ssl.SSLError:
        return True  # verified, then refused later (no client certificate): not about the name
    except (OSError, ValueError):
        return False


def librdkafka_advice(text: str, settings: Settings, probes: dict[str, bool]) -> str | None:
    """The fix for what librdkafka said about a connection, or None (not a refusal)."""
    found = _BROKER.match(text)
    server = found.group(1) if found else ""
    for pattern, cause in _CAUSES:
        if not pattern.search(text):
            continue
        if cause is not None:
            return advice(cause)
        if pattern is _UNANSWERED:
            if settings.security_protocol in ("SSL", "SASL_SSL") or not server:
                return None
            if server not in probes:
                probes[server] = speaks_tls(server)
            return SPEAKS_TLS if probes[server] else None
        if "alert bad certificate" in text:
            # librdkafka's word for both: a certificate the broker does not trust, and none.
            given = settings.ssl_certfile is not None
            return advice("SSLV3_ALERT_CERTIFICATE_UNKNOWN" if given else "HANDSHAKE_FAILURE")
        # certificate verify failed: the CA, or only the name?
        name_only = False
        if settings.ssl_check_hostname and server:
            key = f"name:{server}"
            if key not in probes:
                probes[key] = verifies_without_hostname(server, settings)
            name_only = probes[key]
        return advice("Hostname mismatch" if name_only else "CERTIFICATE_VERIFY_FAILED")
    return None


class RefusalWitness:
    """Keeps what librdkafka says about bootstrap connections while the client starts."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._latest: dict[str, str | None] = {}
        """The fix the latest word about each bootstrap server names (None: not a refusal)."""
        self._probes: dict[str, bool] = {}
        self.last_cause = ""

    def said(self, text: str) -> None:
        """Note one thing librdkafka said (an error's text, or a log line's message)."""
        broker = _BROKER.match(text)
        if broker is None:
            return
        found = librdkafka_advice(text, self._settings, self._probes)
        with self._lock:
            self._latest[broker.group(1)] = found
            self.last_cause = text

    def refusal(self) -> AuthError | None:
        with self._lock:
            latest = dict(self._latest)
        if len(latest) < len(self._settings.bootstrap_servers) or None in latest.values():
            return None
        return AuthError(next(iter(found for found in latest.values() if found)))


class ClientLog:
    """confluent-kafka's `logger`: librdkafka's lines go to our log and, while the client
    starts, to the witness, whatever their level (confluent-kafka gives some FAIL lines INFO,
    which a log set to WARNING would drop before any handler saw them)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self.witness: RefusalWitness | None = None

    def log(self, level: int, message: str, *args: object) -> None:
        text = message % args if args else message
        found = _THREAD.search(text)
        if self.witness is not None and found:
            self.witness.said(found.group(1))
        self._logger.log(level, "%s", text)
