"""A bearer token reaches the registry as confluent-kafka's client sends it, over HTTP on
loopback: the token in `Authorization`, the logical cluster and identity pool in Confluent's
headers; a refused token ends the run (AuthError) naming the settings to check. (No registry
that checks bearer tokens runs here: Apicurio needs an OIDC server for them, so the server is a
stand-in that answers as Confluent's API does.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from handler.config.loading import load_settings
from handler.errors import AuthError, ConfigError
from handler.registry.client import Registry
from tests.unit.config.test_settings import env  # noqa: F401 (a fixture)

TOKEN = "eyJ.token.sig"
SCHEMA = '{"type": "string"}'


class _Answer(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            body, status = {"error_code": 40101, "message": "Unauthorized"}, 401
        else:
            body, status = {"schema": SCHEMA, "schemaType": "AVRO"}, 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def registry_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Answer.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_token_and_the_logical_cluster_reach_the_registry(env, registry_url) -> None:  # noqa: F811
    env(
        topics="t",
        value_format="avro",
        schema_registry_url=registry_url,
        schema_registry_bearer_token=TOKEN,
        schema_registry_logical_cluster="lsrc-123",
        schema_registry_identity_pool="pool-9",
    )
    settings = load_settings()
    assert Registry(settings).schema(1).text == SCHEMA
    headers = _Answer.seen[-1]
    assert headers["target-sr-cluster"] == "lsrc-123"
    assert headers["Confluent-Identity-Pool-Id"] == "pool-9"
    assert TOKEN in settings.secrets()


def test_a_refused_token_ends_the_run_naming_the_setting(env, registry_url) -> None:  # noqa: F811
    env(
        topics="t",
        value_format="avro",
        schema_registry_url=registry_url,
        schema_registry_bearer_token="expired",
        schema_registry_logical_cluster="lsrc-123",
    )
    with pytest.raises(AuthError, match="KAFKA_BEAT_SCHEMA_REGISTRY_BEARER_TOKEN") as refused:
        Registry(load_settings()).schema(1)
    assert "expired" not in str(refused.value)


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({}, "needs KAFKA_BEAT_SCHEMA_REGISTRY_LOGICAL_CLUSTER"),
        (
            {"schema_registry_username": "u", "schema_registry_password": "p"},
            "basic auth or a bearer token, not both",
        ),
    ],
)
def test_a_token_is_refused_without_what_it_needs(env, values, says) -> None:  # noqa: F811
    env(
        topics="t",
        value_format="avro",
        schema_registry_url="http://r",
        schema_registry_bearer_token=TOKEN,
        **values,
    )
    with pytest.raises(ConfigError, match=says):
        load_settings()
