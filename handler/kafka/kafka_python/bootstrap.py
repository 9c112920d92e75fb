"""Starting the consumer, and when to stop asking: a refusal ends the bootstrap at once.

kafka-python (3.0.12) does not end its bootstrap on a refusal: ``KafkaConsumer(...)`` retries
every TLS or SASL failure like a network one and, when ``bootstrap_timeout_ms`` has passed,
raises the same ``KafkaTimeoutError`` whatever the cause. The cause is only in what it logs
about each failed connection. `start_consumer` reads those records as they are logged and ends
the bootstrap as soon as every bootstrap server has refused in a way no retry can change; a
broker that is only unreachable is still retried until the timeout.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import threading
import time
from typing import Any, NoReturn

import kafka
import kafka.errors as kafka_errors
from kafka.net import KafkaConnection, KafkaNetClient, NetworkSelector

from handler.config.settings import Settings
from handler.errors import AuthError, SourceError
from handler.kafka.diagnosis import (
    CLOSED_IN_OAUTHBEARER,
    CLOSED_IN_SASL,
    HUNG_UP,
    SPEAKS_TLS,
    advice,
    speaks_tls,
)
from handler.kafka.security import acl_refused, credentials_refused, group_refused, topic_refused

SASL_GRACE_SECONDS = 1.5
"""How long a bootstrap that only saw the broker hang up during SASL keeps going, for an
attempt that shows the broker's reason (kafka-python drops a response read together with the
close, so an attempt that was refused may show only the close)."""


class _Kind(enum.Enum):
    REFUSED = "refused"
    """A cause in DIAGNOSES, or our own AuthError (the OAUTHBEARER token command failed)."""
    CLOSED_IN_SASL = "closed in SASL"
    """The broker answered ApiVersions on a SASL connection, then hung up: refused login."""
    UNANSWERED = "unanswered"
    """A connection without TLS closed before any answer: a TLS port, or no Kafka at all."""
    UNREACHABLE = "unreachable"
    """Anything else (refused or timed-out connect, DNS): what retrying is for."""


class _Step(enum.Enum):
    WAIT = "wait"
    PROBE = "probe"
    REFUSED = "refused"


class BootstrapWitness(logging.Handler):
    """Keeps what kafka-python says about failed connections while the consumer starts, and
    tells when that is enough to stop the bootstrap.

    Each failed connection is logged as ``<connection>: Connection lost: <error>`` with the
    connection object and the error object as the record's arguments; those say, without
    parsing text, which bootstrap server failed (``conn.node_id``), whether the broker had
    answered ApiVersions first (``conn.broker_version``) and why (the error). Only
    connections of the client being started count (``conn.net`` is its selector), so another
    client in the process cannot end this bootstrap. If kafka-python stops logging these
    arguments nothing counts, and the bootstrap runs to its timeout as it did before; the text
    of every line is kept for the diagnosis either way.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []
        self.changed = threading.Condition()
        """Notified on each failure recorded (and by start_consumer when the consumer is done)."""
        self._servers = len(settings.bootstrap_servers)
        self._sasl = settings.security_protocol.startswith("SASL_")
        self._tls = settings.security_protocol in ("SSL", "SASL_SSL")
        self._net: Any = None
        self._client: Any = None
        self._latest: dict[str, _Kind] = {}
        """What the latest failure of each bootstrap server was, by node id ("bootstrap-0")."""
        self._seen: set[_Kind] = set()
        self._errors: list[AuthError] = []
        self._first_sasl_close: float | None = None
        self._speaks_tls: dict[str, bool] = {}
        self._last_cause = ""

    def watch(self, net: Any, client: Any) -> None:
        """Count only the connections made on `net`, the selector of `client`."""
        with self.changed:
            self._net = net
            self._client = client
            self._servers = len(client.cluster.bootstrap_brokers()) or self._servers

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception), self.changed:
            self.lines.append(record.getMessage())
            if self._record(record):
                self.changed.notify_all()

    def _record(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        conn = next((a for a in args if isinstance(a, KafkaConnection)), None)
        error = next((a for a in args if isinstance(a, BaseException)), None)
        if conn is None or error is None or self._net is None:
            return False
        node = str(conn.node_id)
        if getattr(conn, "net", None) is not self._net or not node.startswith("bootstrap-"):
            return False
        cause = str(error)
        answered = conn.broker_version is not None  # ApiVersions came back on it
        hung_up = isinstance(error, kafka_errors.KafkaConnectionError) and bool(
            HUNG_UP.search(cause)
        )
        if isinstance(error, AuthError):  # ours, raised inside the client (token command)
            kind = _Kind.REFUSED
            self._errors.append(error)
        elif advice(cause) is not None:
            kind = _Kind.REFUSED
        elif self._sasl and answered and hung_up:
            kind = _Kind.CLOSED_IN_SASL
        elif not self._tls and not answered and hung_up:
            kind = _Kind.UNANSWERED
        else:
            kind = _Kind.UNREACHABLE
        if kind is _Kind.CLOSED_IN_SASL and self._first_sasl_close is None:
            self._first_sasl_close = time.monotonic()
        self._latest[node] = kind
        self._seen.add(kind)
        self._last_cause = cause
        return True

    def step(self, now: float) -> tuple[_Step, float | None]:
        """What to do now, and until when to wait (None: until told). Call holding `changed`.

        The bootstrap is refused once the latest failure of every bootstrap server is a
        refusal: one server refusing while another may still answer is not final (a run
        that would have bootstrapped from the other must not fail)."""
        if len(self._latest) < self._servers:
            return _Step.WAIT, None
        kinds = set(self._latest.values())
        if _Kind.UNREACHABLE in kinds:
            return _Step.WAIT, None
        if self.unprobed():
            return _Step.PROBE, None
        unanswered = [node for node, kind in self._latest.items() if kind is _Kind.UNANSWERED]
        if not all(self._speaks_tls[node] for node in unanswered):
            return _Step.WAIT, None  # a port that hangs up and is not TLS: as if unreachable
        if _Kind.CLOSED_IN_SASL in kinds and self._first_sasl_close is not None:
            until = self._first_sasl_close + SASL_GRACE_SECONDS
            if now < until:
                return _Step.WAIT, until
        return _Step.REFUSED, None

    def unprobed(self) -> dict[str, str]:
        """host:port by node id of each server that hung up unanswered and was not probed."""
        servers: dict[str, str] = {}
        for node, kind in self._latest.items():
            if kind is _Kind.UNANSWERED and node not in self._speaks_tls:
                broker = self._client.cluster.broker_metadata(node)
                if broker is None:
                    self._speaks_tls[node] = False  # nothing to probe: as if unreachable
                else:
                    servers[node] = f"{broker.host}:{broker.port}"
        return servers

    def probed(self, node: str, speaks_tls: bool) -> None:
        with self.changed:
            self._speaks_tls[node] = speaks_tls

    @property
    def last_cause(self) -> str:
        with self.changed:
            return self._last_cause

    def diagnosis(self, settings: Settings) -> AuthError | None:
        with self.changed:
            text = "\n".join(self.lines)
            errors = list(self._errors)
            seen = set(self._seen)
            speaks_tls = any(self._speaks_tls.values())
        if errors:
            return errors[0]
        found = advice(text)
        if found is not None:
            return AuthError(found)
        if speaks_tls:
            return AuthError(SPEAKS_TLS)
        secured = settings.security_protocol != "PLAINTEXT"
        closed_in_sasl = _Kind.CLOSED_IN_SASL in seen
        if closed_in_sasl or (secured and "disconnected" in text and "broker_version=(" in text):
            # TLS and the version exchange worked, then the broker hung up: what a refused
            # login looks like when kafka-python drops the broker's answer with the socket.
            oauth = settings.sasl_mechanism == "OAUTHBEARER"
            return AuthError(CLOSED_IN_OAUTHBEARER if oauth else CLOSED_IN_SASL)
        return None


def refusal(exc: Exception, settings: Settings) -> AuthError | None:
    """The AuthError for an authentication or authorization refusal, else None."""
    if isinstance(exc, kafka_errors.SaslAuthenticationFailedError):
        return credentials_refused(settings)
    if isinstance(exc, kafka_errors.TopicAuthorizationFailedError):
        return topic_refused(exc)
    if isinstance(exc, kafka_errors.GroupAuthorizationFailedError):
        return group_refused(settings)
    if isinstance(exc, kafka_errors.AuthorizationError):
        return acl_refused(exc)
    return None


def start_consumer(settings: Settings, options: dict[str, Any]) -> Any:
    """``kafka.KafkaConsumer(**options)``, ended as soon as its bootstrap is refused for good.

    Raises AuthError (exit 3) for a refusal, at once when the cause is known and at most
    SASL_GRACE_SECONDS later when the broker only hung up during SASL; SourceError when no
    broker answered until the timeout (``bootstrap_timeout_ms``), saying so and for how long
    it tried.

    Why this shape: the consumer can only be bootstrapped from inside its constructor, which
    blocks until kafka-python's bootstrap loop ends, and that loop ends early only when its
    client is closed. So the constructor runs on a short-lived thread while this one waits on
    the witness's condition (no polling), and on a final refusal closes the client through
    its public ``close()``; the constructor then fails at once and its thread ends. The client
    is made by the consumer's own ``kafka_client`` option, so it is known before the bootstrap
    starts and its connections can be told from other clients'. Nothing of kafka-python is
    patched. A plaintext connection that is closed without an answer may be a TLS port (whose
    alert kafka-python drops) or no Kafka at all: one TLS probe of each bootstrap server tells
    which, rather than calling a hung-up port misconfigured.
    """
    witness = BootstrapWitness(settings)
    clients: list[Any] = []

    def make_client(**config: Any) -> Any:
        net = NetworkSelector(**config)
        clients.append(KafkaNetClient(net=net, **config))
        witness.watch(net, clients[-1])
        return clients[-1]

    outcome: dict[str, Any] = {}

    def construct() -> None:
        try:
            outcome["consumer"] = kafka.KafkaConsumer(**options, kafka_client=make_client)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            with witness.changed:
                outcome["done"] = True
                witness.changed.notify_all()

    kafka_logger = logging.getLogger("kafka")
    kafka_logger.addHandler(witness)
    started = time.monotonic()
    # A bound for a constructor that never returns, which kafka-python's deadline rules out.
    give_up = started + settings.kafka_timeout_seconds + 30
    worker = threading.Thread(target=construct, name="kafka-beat-bootstrap", daemon=True)
    started_consumer = False
    try:
        worker.start()
        while True:
            with witness.changed:
                now = time.monotonic()
                if "done" in outcome or now >= give_up:
                    break
                step, until = witness.step(now)
                if step is _Step.REFUSED:
                    break
                if step is _Step.WAIT:
                    witness.changed.wait(min(until or give_up, give_up) - now)
                    continue
                unprobed = witness.unprobed()
            # Outside the lock: a probe takes network time, and kafka-python keeps logging.
            for node, server in unprobed.items():
                witness.probed(node, speaks_tls(server))
        started_consumer = "consumer" in outcome  # a bootstrap that succeeded meanwhile wins
    finally:
        # Before closing: what the client logs about the connections it drops on close is no
        # evidence, and must not overwrite what was seen.
        kafka_logger.removeHandler(witness)
        if not started_consumer:
            for client in clients:
                with contextlib.suppress(Exception):
                    client.close()
            worker.join(5.0)
    if started_consumer:
        return outcome["consumer"]
    _failed(settings, witness, outcome.get("error"), time.monotonic() - started)


def _failed(
    settings: Settings, witness: BootstrapWitness, error: BaseException | None, seconds: float
) -> NoReturn:
    """Raise the error for a consumer that did not start."""
    if error is not None and not isinstance(error, kafka_errors.KafkaError):
        raise error
    refused = (refusal(error, settings) if isinstance(error, Exception) else None) or (
        witness.diagnosis(settings)
    )
    if refused is not None:
        raise refused from None
    if error is not None and not isinstance(error, kafka_errors.KafkaTimeoutError):
        raise SourceError(f"cannot connect to Kafka: {error}") from error
    last = f"; the last attempt failed with {witness.last_cause}" if witness.last_cause else ""
    raise SourceError(
        f"no Kafka broker answered at {','.join(settings.bootstrap_servers)}: unreachable, "
        f"tried for {seconds:.0f} s (KAFKA_BEAT_KAFKA_TIMEOUT_SECONDS){last}; check "
        "KAFKA_BEAT_BOOTSTRAP_SERVERS and that the brokers are reachable"
    ) from error
