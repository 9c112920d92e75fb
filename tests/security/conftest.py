"""A secured Kafka broker (TLS, mTLS, SASL, ACLs) per session, separate from the plain one in
tests/integration, and per-test topics and groups that ``User:kafkabeat`` may read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.fixtures import unique
from tests.support.secure_broker import SecureBroker


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with SecureBroker(tmp_path_factory.mktemp("secure-kafka")) as broker:
        yield broker


@dataclass(frozen=True)
class Access:
    topic: str
    group: str


@pytest.fixture
def granted(secure_broker: SecureBroker) -> Access:
    """A new one-partition topic and a group name, both readable by ``User:kafkabeat``."""
    topic = secure_broker.create_topic()
    group = unique("secure-group")
    secure_broker.grant_consumer(topic, group)
    return Access(topic, group)
