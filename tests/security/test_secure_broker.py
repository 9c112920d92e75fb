"""The secured broker works with kafka-python over every mechanism, and each way of getting
security wrong shows up in kafka-python 3.0.12 as recorded here, so the product can map it.

Every failure of TLS or authentication looks the same to the caller: ``KafkaConsumer(...)``
raises ``KafkaTimeoutError("Unable to bootstrap from ...")`` after ``bootstrap_timeout_ms``,
whatever the cause. The cause is only in kafka-python's own WARNING log line
``Bootstrap connection to bootstrap-0 failed: <cause> (backoff ...)``, logged on the IO thread
``kafka-io-<client_id>``; the tests read it from there. Each failed connection is also logged
with the connection and the error objects themselves, and closing the client ends the bootstrap
at once: Kafka Beat builds on both to end a refused bootstrap within seconds instead (timed in
test_kafka_beat_secured.py). ACL failures instead raise at once from the call that needs the
ACL, except a topic the user may not even DESCRIBE: a subscribed consumer's ``poll`` then
returns nothing, forever, without an error.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import kafka.errors as kafka_errors
import pytest
from kafka.admin import ACLOperation, ResourceType
from kafka.consumer import KafkaConsumer
from kafka.net import KafkaNetClient
from kafka.structs import OffsetAndMetadata, TopicPartition

from scripts.kafka_broker import HOST, free_port
from tests.security.conftest import Access
from tests.support.fixtures import unique
from tests.support.secure_broker import (
    PASSWORD,
    SASL_MECHANISMS,
    USER,
    SecureBroker,
    unsecured_jwt,
)

BOOTSTRAP_TIMEOUT_MS = 5000
CLIENT: dict[str, Any] = {
    "request_timeout_ms": 5000,
    "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
}
# ACL errors come back in one round trip; anything slower would mean a retry loop.
PROMPT = 2.0


def consume(consumer: KafkaConsumer, count: int, timeout: float = 15.0) -> list[bytes]:
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(values) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values.extend(record.value for record in records)
    return values


@pytest.fixture
def consumer_factory() -> Iterator[Callable[..., KafkaConsumer]]:
    made: list[KafkaConsumer] = []

    def make(*topics: str, **config: Any) -> KafkaConsumer:
        consumer = KafkaConsumer(*topics, **{**CLIENT, **config})
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        consumer.close(autocommit=False)


def timed(call: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    started = time.monotonic()
    try:
        return call(), None, time.monotonic() - started
    except Exception as exc:
        return None, exc, time.monotonic() - started


# --------------------------------------------------------------------------------------------
# What works


@pytest.mark.parametrize("mechanism", SASL_MECHANISMS)
def test_sasl_ssl_consume_and_commit(
    secure_broker: SecureBroker,
    granted: Access,
    consumer_factory: Callable[..., KafkaConsumer],
    mechanism: str,
) -> None:
    secure_broker.produce(granted.topic, [mechanism.encode()])
    consumer = consumer_factory(
        granted.topic, group_id=granted.group, **secure_broker.sasl_config(mechanism)
    )
    assert consume(consumer, 1) == [mechanism.encode()]
    tp = TopicPartition(granted.topic, 0)
    consumer.commit({tp: OffsetAndMetadata(1, "", -1)})
    assert consumer.committed(tp) == 1


@pytest.mark.parametrize("encrypted_key", [False, True], ids=["key", "encrypted-key"])
def test_mtls_consume_and_commit(
    secure_broker: SecureBroker,
    granted: Access,
    consumer_factory: Callable[..., KafkaConsumer],
    encrypted_key: bool,
) -> None:
    # The cert's CN=kafkabeat maps to User:kafkabeat, so the same ACLs apply as for SASL.
    secure_broker.produce(granted.topic, [b"mtls"])
    consumer = consumer_factory(
        granted.topic, group_id=granted.group, **secure_broker.mtls_config(encrypted_key)
    )
    assert consume(consumer, 1) == [b"mtls"]
    tp = TopicPartition(granted.topic, 0)
    consumer.commit({tp: OffsetAndMetadata(1, "", -1)})
    assert consumer.committed(tp) == 1


def test_localhost_bootstrap_matches_the_certificate(
    secure_broker: SecureBroker, granted: Access, consumer_factory: Callable[..., KafkaConsumer]
) -> None:
    # The cert names both localhost (the bootstrap) and 127.0.0.1 (what the broker advertises).
    secure_broker.produce(granted.topic, [b"by name"])
    config = secure_broker.sasl_config("SCRAM-SHA-512")
    config["bootstrap_servers"] = f"localhost:{secure_broker.broker.sasl_ssl_port}"
    consumer = consumer_factory(granted.topic, group_id=granted.group, **config)
    assert consume(consumer, 1) == [b"by name"]


def test_wrong_host_listener_only_fails_the_hostname_check(
    secure_broker: SecureBroker, granted: Access, consumer_factory: Callable[..., KafkaConsumer]
) -> None:
    secure_broker.produce(granted.topic, [b"unchecked"])
    config = secure_broker.sasl_config("PLAIN")
    config.update(bootstrap_servers=secure_broker.wrong_host_bootstrap, ssl_check_hostname=False)
    consumer = consumer_factory(granted.topic, group_id=granted.group, **config)
    assert consume(consumer, 1) == [b"unchecked"]


# --------------------------------------------------------------------------------------------
# TLS and authentication failures: all fail the bootstrap in KafkaConsumer(...)

# The broker sends its authentication error and closes the connection right after; kafka-python
# 3.0.12 drops bytes read together with the EOF, so an attempt may show either.
SASL_REJECTED = r"^\[Error 58\] SaslAuthenticationFailedError: SaslAuthenticationFailedError: "
CLOSED = r"^KafkaConnectionError: socket disconnected$"
# An attempt still under way when the bootstrap deadline passes ends like this, whatever the case.
DEADLINE = r"^\[Error 7\] RequestTimedOutError: Request timed out after \d+ ms$"
VERIFY_FAILED = r"^KafkaConnectionError: Handshake failed: \[SSL: CERTIFICATE_VERIFY_FAILED\] "


@dataclass(frozen=True)
class Case:
    config: Callable[[SecureBroker], dict[str, Any]]
    causes: tuple[str, ...]
    """Patterns: every cause kafka-python logs for a failed attempt matches one of them."""
    answered: bool = False
    """Whether the broker had answered ApiVersions when the connection failed (SASL: yes)."""


def _with(base: Callable[[SecureBroker], dict[str, Any]], **changes: Any) -> Callable[..., Any]:
    def build(broker: SecureBroker) -> dict[str, Any]:
        config = base(broker)
        for key, value in changes.items():
            config[key] = value(broker) if callable(value) else value
        return config

    return build


def _plain(broker: SecureBroker) -> dict[str, Any]:
    return broker.sasl_config("PLAIN")


def _mtls(broker: SecureBroker) -> dict[str, Any]:
    return broker.mtls_config()


CASES: dict[str, Case] = {
    "wrong password (PLAIN)": Case(
        _with(_plain, sasl_plain_password="not-the-password"),
        (SASL_REJECTED + "Authentication failed: Invalid username or password$", CLOSED),
        answered=True,
    ),
    "wrong password (SCRAM-SHA-256)": Case(
        lambda b: b.sasl_config("SCRAM-SHA-256", password="not-the-password"),
        (
            SASL_REJECTED + "Authentication failed during authentication due to invalid "
            "credentials with SASL mechanism SCRAM-SHA-256$",
            CLOSED,
        ),
        answered=True,
    ),
    "unknown user (PLAIN)": Case(
        _with(_plain, sasl_plain_username="nobody"),
        (SASL_REJECTED + "Authentication failed: Invalid username or password$", CLOSED),
        answered=True,
    ),
    "unknown user (SCRAM-SHA-512)": Case(
        lambda b: b.sasl_config("SCRAM-SHA-512", username="nobody"),
        (
            SASL_REJECTED + "Authentication failed during authentication due to invalid "
            "credentials with SASL mechanism SCRAM-SHA-512$",
            CLOSED,
        ),
        answered=True,
    ),
    "expired token (OAUTHBEARER)": Case(
        lambda b: b.sasl_config("OAUTHBEARER", token=unsecured_jwt(lifetime_seconds=-600)),
        (SASL_REJECTED + r'\{"status":"invalid_token"\}$', CLOSED),
        answered=True,
    ),
    "untrusted CA": Case(
        _with(_plain, ssl_cafile=lambda b: str(b.certificates.other_ca_file)),
        (
            VERIFY_FAILED
            + "certificate verify failed: self-signed certificate in certificate chain",
        ),
    ),
    "hostname mismatch": Case(
        _with(_plain, bootstrap_servers=lambda b: b.wrong_host_bootstrap),
        (
            VERIFY_FAILED + "certificate verify failed: IP address mismatch, certificate is not "
            "valid for '127.0.0.1'",
        ),
    ),
    "expired client cert (mTLS)": Case(
        _with(
            _mtls,
            ssl_certfile=lambda b: str(b.certificates.expired_client_cert_file),
            ssl_keyfile=lambda b: str(b.certificates.expired_client_key_file),
        ),
        # TLS 1.3: the broker checks the client cert after the client finished its handshake,
        # so its alert arrives on the first read, not as a handshake failure.
        (r"^KafkaConnectionError: \[SSL: SSLV3_ALERT_CERTIFICATE_UNKNOWN\] ",),
    ),
    "client cert from another CA (mTLS)": Case(
        _with(
            _mtls,
            ssl_certfile=lambda b: str(b.certificates.untrusted_client_cert_file),
            ssl_keyfile=lambda b: str(b.certificates.untrusted_client_key_file),
        ),
        (r"^KafkaConnectionError: \[SSL: SSLV3_ALERT_CERTIFICATE_UNKNOWN\] ",),
    ),
    "no client cert (mTLS)": Case(
        lambda b: {
            k: v for k, v in b.mtls_config().items() if k not in ("ssl_certfile", "ssl_keyfile")
        },
        (r"^KafkaConnectionError: \[SSL: SSLV3_ALERT_BAD_CERTIFICATE\] ",),
    ),
    "wrong client key password": Case(
        lambda b: {**b.mtls_config(encrypted_key=True), "ssl_password": "not-the-password"},
        # ssl.SSLError from load_cert_chain, raised again at every connection attempt.
        (r"^\[SSL\] PEM lib ",),
    ),
    "TLS to a plaintext port": Case(
        _with(_mtls, bootstrap_servers=lambda b: b.plaintext_bootstrap),
        (r"^KafkaConnectionError: Handshake failed: \[SSL: UNEXPECTED_EOF_WHILE_READING\] ",),
    ),
    "plaintext to a TLS port": Case(
        lambda b: {"bootstrap_servers": b.sasl_ssl_bootstrap},
        # The broker's TLS alert read as a Kafka frame length (0x15030300...), or just EOF.
        (r"^InvalidReceiveError: Invalid frame length: \d+$", CLOSED),
    ),
    "nothing listening": Case(
        lambda b: {"bootstrap_servers": f"{HOST}:{free_port()}"},
        (r"^KafkaConnectionError: 111 ECONNREFUSED$",),
    ),
}


@dataclass(frozen=True)
class Lost:
    """What a ``Connection lost`` record carries as its arguments."""

    node_id: str
    broker_version: tuple[int, ...] | None
    error: BaseException


@dataclass
class Outcome:
    error: BaseException | None = None
    seconds: float = 0.0
    causes: list[str] = field(default_factory=list)
    lost: list[Lost] = field(default_factory=list)


_CAUSE = re.compile(r"^Bootstrap connection to \S+ failed: (.*) \(backoff [\d.]+ secs\)$", re.S)


class _CauseLog(logging.Handler):
    """The causes kafka-python logs for failed bootstrap attempts, and the connection and
    error objects of each lost connection, by client (IO thread)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.by_thread: dict[str, list[str]] = {}
        self.lost_by_thread: dict[str, list[Lost]] = {}
        self._lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        thread = record.threadName or ""
        match = _CAUSE.match(record.getMessage())
        if match:
            with self._lock_:
                self.by_thread.setdefault(thread, []).append(match.group(1))
        if ": Connection lost: " in record.msg and isinstance(record.args, tuple):
            conn, error = record.args
            lost = Lost(str(conn.node_id), conn.broker_version, error)
            with self._lock_:
                self.lost_by_thread.setdefault(thread, []).append(lost)


@pytest.fixture(scope="module")
def bootstrap_failures(secure_broker: SecureBroker) -> dict[str, Outcome]:
    """Every case at once (each waits out the same bootstrap timeout), by case name."""
    handler = _CauseLog()
    logger = logging.getLogger("kafka.net")
    logger.addHandler(handler)
    saved_level = logger.level
    logger.setLevel(logging.WARNING)
    names = {name: f"security-case-{index}" for index, name in enumerate(CASES)}

    def attempt(name: str) -> Outcome:
        outcome = Outcome()
        config = {**CLIENT, **CASES[name].config(secure_broker), "client_id": names[name]}
        started = time.monotonic()
        try:
            KafkaConsumer(**config).close()
        except Exception as exc:
            outcome.error = exc
        outcome.seconds = time.monotonic() - started
        return outcome

    try:
        with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
            outcomes = dict(zip(CASES, pool.map(attempt, CASES), strict=True))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)
    for name, outcome in outcomes.items():
        outcome.causes = handler.by_thread.get(f"kafka-io-{names[name]}", [])
        outcome.lost = handler.lost_by_thread.get(f"kafka-io-{names[name]}", [])
    return outcomes


@pytest.mark.parametrize("case", list(CASES))
def test_bootstrap_failure(bootstrap_failures: dict[str, Outcome], case: str) -> None:
    outcome = bootstrap_failures[case]
    assert isinstance(outcome.error, kafka_errors.KafkaTimeoutError), outcome
    assert str(outcome.error).startswith("KafkaTimeoutError: Unable to bootstrap from ")
    # Retried until the bootstrap timeout, never longer: no case hangs, none fails fast.
    assert BOOTSTRAP_TIMEOUT_MS / 1000 - 0.1 <= outcome.seconds < BOOTSTRAP_TIMEOUT_MS / 1000 + 3
    expected = CASES[case].causes
    specific = [cause for cause in outcome.causes if not re.search(DEADLINE, cause)]
    assert specific, f"kafka-python logged no cause but the deadline: {outcome.causes}"
    for cause in specific:
        assert any(re.search(pattern, cause) for pattern in expected), cause
    assert PASSWORD not in str(outcome.error)
    assert not any(PASSWORD in cause for cause in outcome.causes)


@pytest.mark.parametrize("case", list(CASES))
def test_each_failed_connection_is_logged_with_its_objects(
    bootstrap_failures: dict[str, Outcome], case: str
) -> None:
    """What Kafka Beat's BootstrapWitness reads to stop a refused bootstrap early: each failed
    connection is logged as ``<conn>: Connection lost: <error>`` with the KafkaConnection and
    the error themselves as arguments. The connection names the bootstrap server and whether
    the broker had answered ApiVersions (a broker that hung up on a SASL login had; a TLS
    port spoken to in plaintext never has); the error is the cause the bootstrap logs."""
    outcome = bootstrap_failures[case]
    specific = [lost for lost in outcome.lost if not re.search(DEADLINE, str(lost.error))]
    assert specific, outcome
    for lost in specific:
        assert lost.node_id == "bootstrap-0"
        assert any(re.search(pattern, str(lost.error)) for pattern in CASES[case].causes), lost
        assert (lost.broker_version is not None) is CASES[case].answered, lost
    assert [str(lost.error) for lost in outcome.lost] == outcome.causes


def test_closing_the_client_ends_the_bootstrap_at_once() -> None:
    """The other half of stopping early: ``KafkaConsumer(...)`` blocks in its bootstrap until
    the deadline, but closing its client (made through the ``kafka_client`` option) from
    another thread ends it at once, with an error rather than a consumer."""
    clients: list[KafkaNetClient] = []
    made = threading.Event()

    def client(**config: Any) -> KafkaNetClient:
        clients.append(KafkaNetClient(**config))
        made.set()
        return clients[-1]

    failed: list[BaseException] = []

    def construct() -> None:
        try:
            KafkaConsumer(
                bootstrap_servers=f"{HOST}:{free_port()}",
                bootstrap_timeout_ms=30000,
                kafka_client=client,
            )
        except Exception as exc:
            failed.append(exc)

    thread = threading.Thread(target=construct, daemon=True)
    thread.start()
    assert made.wait(10)
    time.sleep(0.5)  # well into the bootstrap's retries
    started = time.monotonic()
    clients[0].close()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0
    assert len(failed) == 1 and isinstance(failed[0], kafka_errors.KafkaError), failed


# --------------------------------------------------------------------------------------------
# Authorization failures: raised by the call that needs the ACL, at once


def test_missing_group_acl(
    secure_broker: SecureBroker, consumer_factory: Callable[..., KafkaConsumer]
) -> None:
    topic = secure_broker.create_topic()
    secure_broker.grant_consumer(topic)  # the topic only
    group = unique("ungranted-group")
    secure_broker.produce(topic, [b"x"])
    tp = TopicPartition(topic, 0)
    consumer = consumer_factory(group_id=group, **secure_broker.sasl_config("PLAIN"))
    expected = f"[Error 30] GroupAuthorizationFailedError: {group}"

    for call in (
        lambda: consumer.committed(tp),
        lambda: consumer.commit({tp: OffsetAndMetadata(1, "", -1)}),
    ):
        _, error, seconds = timed(call)
        assert isinstance(error, kafka_errors.GroupAuthorizationFailedError)
        assert str(error) == expected
        assert seconds < PROMPT

    consumer.subscribe([topic])
    _, error, seconds = timed(lambda: consumer.poll(timeout_ms=5000))
    assert isinstance(error, kafka_errors.GroupAuthorizationFailedError)
    assert str(error) == expected
    assert seconds < PROMPT
    # Reading the topic needs no group, so this still works with the group's ACL missing.
    assert consumer.end_offsets([tp]) == {tp: 1}


def test_missing_topic_acl(
    secure_broker: SecureBroker, consumer_factory: Callable[..., KafkaConsumer]
) -> None:
    hidden = secure_broker.create_topic()  # no ACL at all for User:kafkabeat
    group = unique("secure-group")
    secure_broker.grant(f"User:{USER}", ResourceType.GROUP, group, [ACLOperation.READ])
    secure_broker.produce(hidden, [b"x"])
    tp = TopicPartition(hidden, 0)
    consumer = consumer_factory(group_id=group, **secure_broker.sasl_config("PLAIN"))

    # Without DESCRIBE the topic is invisible: indistinguishable from a missing topic.
    assert hidden not in consumer.topics()
    assert consumer.partitions_for_topic(hidden) == set()

    _, error, seconds = timed(lambda: consumer.committed(tp))
    assert isinstance(error, kafka_errors.TopicAuthorizationFailedError)
    assert str(error) == "[Error 29] TopicAuthorizationFailedError"  # names no topic
    assert seconds < PROMPT
    _, error, seconds = timed(lambda: consumer.commit({tp: OffsetAndMetadata(1, "", -1)}))
    assert isinstance(error, kafka_errors.TopicAuthorizationFailedError)
    assert str(error) == f"[Error 29] TopicAuthorizationFailedError: {{'{hidden}'}}"
    assert seconds < PROMPT
    _, error, seconds = timed(lambda: consumer.end_offsets([tp]))
    assert isinstance(error, kafka_errors.TopicAuthorizationFailedError)
    assert str(error) == f"[Error 29] TopicAuthorizationFailedError: {hidden}"
    assert seconds < PROMPT

    # Subscribed, poll raises nothing and returns nothing, however long it is called: the
    # consumer never gets the partition (kafka-python only logs "Topic ... is not authorized").
    consumer.subscribe([hidden])
    records, error, seconds = timed(lambda: consumer.poll(timeout_ms=2000))
    assert (records, error) == ({}, None)
    assert seconds >= 1.9
    assert consumer.assignment() == set()


def test_topic_describe_without_read(
    secure_broker: SecureBroker, consumer_factory: Callable[..., KafkaConsumer]
) -> None:
    topic = secure_broker.create_topic()
    group = unique("secure-group")
    secure_broker.grant(f"User:{USER}", ResourceType.TOPIC, topic, [ACLOperation.DESCRIBE])
    secure_broker.grant(f"User:{USER}", ResourceType.GROUP, group, [ACLOperation.READ])
    secure_broker.produce(topic, [b"x"])
    tp = TopicPartition(topic, 0)
    consumer = consumer_factory(group_id=group, **secure_broker.sasl_config("PLAIN"))

    assert topic in consumer.topics()
    assert consumer.committed(tp) is None
    _, error, _ = timed(lambda: consumer.commit({tp: OffsetAndMetadata(1, "", -1)}))
    assert isinstance(error, kafka_errors.TopicAuthorizationFailedError)
    consumer.subscribe([topic])
    _, error, seconds = timed(lambda: consumer.poll(timeout_ms=5000))
    assert isinstance(error, kafka_errors.TopicAuthorizationFailedError)
    assert str(error) == f"[Error 29] TopicAuthorizationFailedError: {{'{topic}'}}"
    assert seconds < PROMPT


# --------------------------------------------------------------------------------------------
# Secrets in kafka-python's logs


def test_debug_log_carries_the_plain_password(
    secure_broker: SecureBroker,
    granted: Access,
    consumer_factory: Callable[..., KafkaConsumer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """kafka-python logs each SaslAuthenticate request, and with PLAIN that holds the password
    in clear, at DEBUG: the product must never run the ``kafka`` loggers at DEBUG. INFO and up
    stay clean, and SCRAM never sends the password at all."""
    caplog.set_level(logging.DEBUG, logger="kafka")

    def leaks(mechanism: str) -> list[logging.LogRecord]:
        caplog.clear()
        consumer = consumer_factory(group_id=granted.group, **secure_broker.sasl_config(mechanism))
        assert granted.topic in consumer.topics()
        return [record for record in caplog.records if PASSWORD in record.getMessage()]

    plain = leaks("PLAIN")
    assert plain
    assert {record.levelno for record in plain} == {logging.DEBUG}
    assert any("SaslAuthenticateRequest" in record.getMessage() for record in plain)
    assert leaks("SCRAM-SHA-256") == []
