"""Starting confluent-kafka's consumer: the cluster's metadata read, or the start ended as soon
as every bootstrap server refused us in a way no retry changes (TLS, SASL), after
KAFKA_BEAT_KAFKA_TIMEOUT_SECONDS when none answered.

librdkafka retries a refusal for ever: its error callback and log lines are read per bootstrap
server while it starts (`diagnosis.py`'s witness), and the start ends with the advice.
"""

from __future__ import annotations

import contextlib
import time

from confluent_kafka import Consumer, KafkaError, KafkaException

from handler.config.settings import Settings
from handler.errors import AuthError, SourceError
from handler.kafka.confluent.diagnosis import ClientLog, RefusalWitness, librdkafka_advice
from handler.kafka.confluent.options import TokenCallback
from handler.observe.logs import get_logger

log = get_logger()


class _ClientErrors:
    """librdkafka's error callback: evidence while starting, a log line after."""

    def __init__(self, witness: RefusalWitness) -> None:
        self.witness: RefusalWitness | None = witness

    def __call__(self, error: KafkaError) -> None:
        if self.witness is not None:
            self.witness.said(error.str())
        else:
            log.warning("Kafka client error", extra={"error": error.str()})


def start_consumer(settings: Settings, config: dict[str, object]) -> Consumer:
    """`Consumer(config)`, started; AuthError (exit 3) for a refusal, SourceError when no
    broker answered."""
    token = config.get("oauth_cb")
    if isinstance(token, TokenCallback):
        # A failing token command ends the start now: confluent-kafka would wait 10 s for a
        # token before saying only that none came.
        token.prefetch()
    witness = RefusalWitness(settings)
    errors = _ClientErrors(witness)
    client_log = ClientLog(get_logger().getChild("librdkafka"))
    client_log.witness = witness
    try:
        try:
            consumer = Consumer({**config, "error_cb": errors, "logger": client_log})
        except KafkaException as exc:
            # A configuration librdkafka refuses at once: an unreadable key or certificate.
            text = exc.args[0].str() if exc.args else str(exc)
            found = librdkafka_advice(text, settings, {})
            if found is not None:
                raise AuthError(found) from None
            raise SourceError(f"starting the Kafka client failed: {text}") from None
        try:
            _wait_for_metadata(consumer, settings, witness)
        except BaseException:
            with contextlib.suppress(KafkaException, RuntimeError):
                consumer.close()
            raise
    finally:
        client_log.witness = errors.witness = None
    return consumer


def _wait_for_metadata(consumer: Consumer, settings: Settings, witness: RefusalWitness) -> None:
    """Wait for the cluster's metadata; end at once when every bootstrap server refused
    us in a way no retry changes (TLS, SASL), after the timeout when none answered."""
    started = time.monotonic()
    deadline = started + settings.kafka_timeout_seconds
    while True:
        consumer.poll(0)  # serves the error and log callbacks (and oauth_cb)
        left = deadline - time.monotonic()
        try:
            consumer.list_topics(timeout=max(0.1, min(0.5, left)))
            return
        except KafkaException as exc:
            last = exc.args[0].str() if exc.args else str(exc)
        consumer.poll(0)
        refused = witness.refusal()
        if refused is not None:
            raise refused
        if time.monotonic() >= deadline:
            raise SourceError(
                f"no Kafka broker answered at {','.join(settings.bootstrap_servers)}: "
                f"unreachable, tried for {time.monotonic() - started:.0f} s "
                f"(KAFKA_BEAT_KAFKA_TIMEOUT_SECONDS); the last attempt failed with "
                f"{witness.last_cause or last}; check KAFKA_BEAT_BOOTSTRAP_SERVERS and that "
                "the brokers are reachable"
            )
