"""Real parts for the tests (a pytest plugin, loaded by tests/conftest.py): one Apache Kafka
broker (KRaft), one moto S3 server, one SeaweedFS (a real S3-compatible server), one GCS
emulator (fake-gcs-server) and one Azure emulator (Azurite) per session, each started only
when a test asks for it, and factories that give each test its own topics, groups, buckets and
containers."""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from kafka import KafkaAdminClient, KafkaProducer

from handler.config.settings import Settings
from scripts.emulators import Azurite, FakeGCS, SeaweedFS
from scripts.kafka_broker import KafkaBroker
from scripts.schema_registry import SchemaRegistry
from tests.support.s3_server import MotoS3Server

_counter = itertools.count()

CLIENTS = ("kafka-python", "confluent")
"""Every KAFKA_BEAT_KAFKA_CLIENT. A test module that proves something of the source runs over
each with `pytestmark = pytest.mark.parametrize("kafka_client", CLIENTS)` (or `over_clients`),
the way the store contract runs over every store."""

over_clients = pytest.mark.parametrize("kafka_client", CLIENTS)

ENCODERS = ("native", "python")
"""Every KAFKA_BEAT_ENCODER that encodes: the native batch encoder and the Python reference. A
test module whose runs' lines are what it proves runs over both (`over_encoders`); the other
runs take `auto`, the native one where it is built (CI builds it)."""
over_encoders = pytest.mark.parametrize("encoder", ENCODERS)


@pytest.fixture
def encoder() -> str:
    """The encoder a test's runs use: `auto`, unless the test is parametrized over ENCODERS."""
    return "auto"


@pytest.fixture
def kafka_client() -> str:
    """The client a test's runs use: kafka-python, the default, unless the test is
    parametrized over CLIENTS (which overrides this fixture, and so settings_factory's)."""
    return "kafka-python"


@pytest.fixture(scope="session", autouse=True)
def aws_test_credentials() -> Iterator[None]:
    saved = {
        name: os.environ.get(name)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    # A quick log cleaner, so compacted-topic tests see compaction within seconds.
    properties = {"log.cleaner.backoff.ms": "300"}
    with KafkaBroker(
        data_dir=tmp_path_factory.mktemp("kafka"), extra_properties=properties
    ) as broker:
        yield broker


@pytest.fixture(scope="session")
def bootstrap(kafka_broker: KafkaBroker) -> str:
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def admin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield client
    client.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3Server]:
    with MotoS3Server(log_path=tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="session")
def schema_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchemaRegistry]:
    """A real Schema Registry (Apicurio, Confluent's API), schemas in memory."""
    with SchemaRegistry(tmp_path_factory.mktemp("registry") / "registry.log") as registry:
        yield registry


REGISTRY_USER = ("kafkabeat", "registry-s3cret")


@pytest.fixture(scope="session")
def secured_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchemaRegistry]:
    """The same, taking only HTTP basic auth as REGISTRY_USER."""
    log = tmp_path_factory.mktemp("secured-registry") / "registry.log"
    with SchemaRegistry(log, users=dict([REGISTRY_USER])) as registry:
        yield registry


@pytest.fixture(scope="session")
def s3_client(s3_server: MotoS3Server) -> Any:
    return boto3.client("s3", endpoint_url=s3_server.endpoint, region_name="us-east-1")


def unique(kind: str) -> str:
    return f"{kind}-{next(_counter)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topic_factory(admin: KafkaAdminClient) -> Callable[..., str]:
    def create(partitions: int = 4, configs: dict[str, str] | None = None) -> str:
        name = unique("topic")
        admin.create_topics(
            {
                name: {
                    "num_partitions": partitions,
                    "replication_factor": 1,
                    "configs": configs or {},
                }
            },
            wait_for_metadata=True,
        )
        return name

    return create


@pytest.fixture
def bucket_factory(s3_client: Any) -> Callable[[], str]:
    def create() -> str:
        name = unique("bucket")
        s3_client.create_bucket(Bucket=name)
        return name

    return create


@pytest.fixture
def producer(bootstrap: str) -> Iterator[KafkaProducer]:
    client = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
    yield client
    client.close()


@pytest.fixture
def settings_factory(
    bootstrap: str, tmp_path: Path, kafka_client: str, encoder: str
) -> Callable[..., Settings]:
    """Settings for a run against the session broker with the test's client and encoder; the
    local destination by default."""

    def build(**values: Any) -> Settings:
        values.setdefault("bootstrap_servers", bootstrap)
        values.setdefault("kafka_client", kafka_client)
        values.setdefault("encoder", encoder)
        values.setdefault("group_id", unique("group"))
        values.setdefault("destination", str(tmp_path / "out"))
        values.setdefault("kafka_timeout_seconds", 15)
        return Settings(**values)

    return build


@pytest.fixture(scope="session")
def serial_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3Server]:
    """moto checks conditional writes check-then-act; serving one request at a time makes
    them atomic, as S3's are. Overlapping writers need this to be a fair test."""
    log = tmp_path_factory.mktemp("moto-serial") / "moto.log"
    with MotoS3Server(single_thread=True, log_path=log) as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGCS]:
    """fake-gcs-server, in memory, on a loopback port."""
    with FakeGCS(log_path=tmp_path_factory.mktemp("fake-gcs") / "fake-gcs.log") as server:
        yield server


@pytest.fixture(scope="session")
def gcs_client(gcs_server: FakeGCS) -> Any:
    from handler.stores.gcs import gcs_client

    return gcs_client(gcs_server.endpoint)


@pytest.fixture
def gcs_bucket_factory(gcs_client: Any) -> Callable[[], str]:
    def create() -> str:
        name = unique("bucket")
        gcs_client.create_bucket(name)
        return name

    return create


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite's blob service, in memory, on a loopback port."""
    with Azurite(log_path=tmp_path_factory.mktemp("azurite") / "azurite.log") as server:
        yield server


@pytest.fixture(scope="session")
def azure_service(azurite: Azurite) -> Any:
    from pydantic import SecretStr

    from handler.stores.azure import azure_service

    return azure_service(None, SecretStr(azurite.connection_string))


@pytest.fixture
def azure_container_factory(azure_service: Any) -> Callable[[], str]:
    def create() -> str:
        name = unique("container")  # lowercase letters, digits and single hyphens
        azure_service.create_container(name)
        return name

    return create


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """SeaweedFS (`weed mini`), every service on 127.0.0.1, its S3 API at `endpoint`."""
    with SeaweedFS(log_path=tmp_path_factory.mktemp("seaweedfs") / "weed.log") as server:
        # Its S3 port listens before a volume is writable: ready once an object is stored.
        client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
        deadline = time.monotonic() + 60
        while True:
            try:
                client.create_bucket(Bucket="kb-ready")
                client.put_object(Bucket="kb-ready", Key="probe", Body=b"")
                break
            except client.exceptions.BucketAlreadyOwnedByYou:
                continue
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield server
