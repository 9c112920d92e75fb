"""confluent-kafka's errors turned into ours, once, at the edge: refused (AuthError, exit 3),
transient (TransientError, retried), a commit the group refused (CommitRejected), or final
(SourceError). Imported only by the confluent source."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

from handler.config.settings import Settings
from handler.errors import AuthError, KafkaBeatError, SourceError, TransientError
from handler.kafka.confluent.diagnosis import librdkafka_advice
from handler.kafka.security import acl_refused, credentials_refused, group_refused, topic_refused
from handler.kafka.source import CommitRejected

REJECTED = frozenset(
    {
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError._ASSIGNMENT_LOST,
    }
)
"""A commit the group refused: another member owns the partitions now."""
NOT_FETCHING = frozenset({KafkaError._STATE, KafkaError._IN_PROGRESS})
"""What seek() answers for a partition whose fetcher stopped or has not started."""
# Retried until the Kafka timeout, as kafka-python retries them inside its calls; librdkafka
# does not always mark them retriable (a group coordinator moving or still loading).
_TRANSIENT = frozenset(
    {
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._WAIT_COORD,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
    }
)
_REFUSALS = frozenset(
    {
        KafkaError._AUTHENTICATION,
        KafkaError._SSL,
        KafkaError.SASL_AUTHENTICATION_FAILED,
        KafkaError.UNSUPPORTED_SASL_MECHANISM,
        KafkaError.ILLEGAL_SASL_STATE,
    }
)


def translate(exc: KafkaException, settings: Settings, action: str) -> KafkaBeatError:
    """Our error for a client error: refused (exit 3), transient (retried) or final."""
    error = exc.args[0] if exc.args else None
    if not isinstance(error, KafkaError):
        return SourceError(f"{action} failed: {exc}")
    code, text = error.code(), error.str()
    if code in (KafkaError.SASL_AUTHENTICATION_FAILED, KafkaError._AUTHENTICATION):
        found = librdkafka_advice(text, settings, {})
        if found is not None:
            return AuthError(found)
        return credentials_refused(settings)
    if code == KafkaError.TOPIC_AUTHORIZATION_FAILED:
        return topic_refused(text)
    if code == KafkaError.GROUP_AUTHORIZATION_FAILED:
        return group_refused(settings)
    if code in (
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ):
        return acl_refused(text)
    found = librdkafka_advice(text, settings, {}) if code in _REFUSALS else None
    if found is not None:
        return AuthError(found)
    if error.retriable() or code in _TRANSIENT:
        return TransientError(f"{action} failed: {text}")
    return SourceError(f"{action} failed: {text}")


def commit_error(settings: Settings, exc: KafkaException) -> KafkaBeatError:
    error = exc.args[0] if exc.args else None
    if isinstance(error, KafkaError) and error.code() in REJECTED:
        return CommitRejected(f"the group refused the commit: {error.str()}")
    return translate(exc, settings, "committing offsets")
