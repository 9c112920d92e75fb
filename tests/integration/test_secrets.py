"""A secret never appears in any output: a distinctive password is set and every path that
prints — help, bad config, success, failures, check, status, decode, verify — is searched."""

from __future__ import annotations

import base64
import subprocess
import sys

import boto3
import pytest

from handler.config.loading import load_settings
from scripts.kafka_broker import free_port
from tests.integration.test_collect import log_lines
from tests.support import runs
from tests.support.fixtures import over_clients
from tests.support.reconcile import produce

CANARY = "Kb-Leak-Canary-93f1c7"


def invoke(tmp_path, *args: str, extra_env: dict[str, str] | None = None, **settings):
    env = {**runs.environment(**settings), **(extra_env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "handler", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert CANARY not in result.stdout and CANARY not in result.stderr, (args, result)
    return result


@pytest.fixture
def secret_sources(tmp_path, s3_server):
    """The canary from the environment, from a mounted file, and from Secrets Manager."""
    secret_file = tmp_path / "sasl-password"
    secret_file.write_text(CANARY + "\n")
    client = boto3.client(
        "secretsmanager", endpoint_url=s3_server.endpoint, region_name="us-east-1"
    )
    arn = client.create_secret(Name=f"kb-{tmp_path.name}", SecretString=CANARY)["ARN"]
    endpoint = {"AWS_ENDPOINT_URL_SECRETS_MANAGER": s3_server.endpoint}
    return {
        "env": ({"sasl_password": CANARY}, {}),
        "file": ({}, {"KAFKA_BEAT_SASL_PASSWORD_FILE": str(secret_file)}),
        "secrets manager": ({"sasl_password": arn}, endpoint),
    }


@over_clients
@pytest.mark.parametrize("source", ["env", "file", "secrets manager"])
def test_no_output_carries_the_secret(
    source, kafka_client, secret_sources, topic_factory, producer, bootstrap, tmp_path
) -> None:
    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(20, 1))
    settings, extra_env = secret_sources[source]
    base = dict(
        group_id=f"g-{topic}",
        topics=topic,
        destination=str(tmp_path / "out"),
        log_level="DEBUG",
        kafka_timeout_seconds=3,
        kafka_client=kafka_client,
        **settings,
    )
    sasl = dict(
        security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="kafkabeat"
    )
    unused = {"bootstrap_servers": bootstrap}  # the secret is loaded, then not needed

    invoke(tmp_path, "--help", extra_env=extra_env, **base, **unused)
    bad = invoke(tmp_path, extra_env=extra_env, compression="lz4", **base, **unused, **sasl)
    assert bad.returncode == 2
    # A SASL client against a listener that does not speak SASL: authentication cannot happen.
    refused = invoke(tmp_path, extra_env=extra_env, bootstrap_servers=bootstrap, **base, **sasl)
    assert refused.returncode in (1, 3)
    unreachable = invoke(
        tmp_path, extra_env=extra_env, bootstrap_servers=f"127.0.0.1:{free_port()}", **base, **sasl
    )
    assert unreachable.returncode == 1
    if source != "env":
        return  # the other sources only change how the secret is loaded: checked above
    for command in ("check", "status"):
        failed = invoke(
            tmp_path, command, extra_env=extra_env, bootstrap_servers=bootstrap, **base, **sasl
        )
        assert failed.returncode != 0
    ok_env = {**extra_env}
    ok = invoke(
        tmp_path,
        extra_env=ok_env,
        ssl_key_password=CANARY,
        **unused,
        **{k: v for k, v in base.items() if k != "sasl_password"},
    )
    assert ok.returncode == 0, ok.stderr
    invoke(tmp_path, "decode", str(tmp_path / "out"))
    invoke(tmp_path, "verify", str(tmp_path / "out"))
    invoke(
        tmp_path,
        "check",
        extra_env=ok_env,
        ssl_key_password=CANARY,
        **unused,
        **{k: v for k, v in base.items() if k != "sasl_password"},
    )


def test_secret_sources_resolve(secret_sources, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "BOOTSTRAP_SERVERS": "b:1",
        "GROUP_ID": "g",
        "TOPICS": "t",
        "SECURITY_PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "SCRAM-SHA-512",
        "SASL_USERNAME": "kafkabeat",
    }.items():
        monkeypatch.setenv(f"KAFKA_BEAT_{name}", value)
    for source, (settings, extra_env) in secret_sources.items():
        with monkeypatch.context() as scoped:
            for name, value in {
                **{f"KAFKA_BEAT_{k.upper()}": v for k, v in settings.items()},
                **extra_env,
            }.items():
                scoped.setenv(name, value)
            loaded = load_settings()
            assert loaded.sasl_password is not None, source
            assert loaded.sasl_password.get_secret_value() == CANARY, source
            assert CANARY not in repr(loaded) and CANARY not in str(loaded.model_dump()), source


def test_missing_secret_in_secrets_manager_is_a_config_error(
    s3_server, monkeypatch, tmp_path
) -> None:
    from handler.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", s3_server.endpoint)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    with pytest.raises(ConfigError, match=r"cannot read .* from Secrets Manager"):
        load_settings(
            {
                "bootstrap_servers": "b:1",
                "group_id": "g",
                "topics": "t",
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "PLAIN",
                "sasl_username": "u",
                "sasl_password": arn,
            }
        )


def test_no_output_carries_the_azure_key(
    azurite, azure_container_factory, topic_factory, producer, bootstrap, tmp_path
) -> None:
    """The Azure connection string (from the environment and from a file) through a run,
    check, status and the refusals; neither it nor its AccountKey is printed."""
    from scripts.emulators import AZURITE_KEY

    topic = topic_factory(partitions=1)
    produce(producer, topic, log_lines(20, 1))
    connection = azurite.connection_string
    # Valid base64 (so the SDK signs with it), not the account's key; the canary inside.
    wrong_key = base64.b64encode(CANARY.encode() * 3).decode()
    keys = (AZURITE_KEY, wrong_key, connection)
    base = dict(
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        topics=topic,
        destination=f"az://{azure_container_factory()}/s",
        log_level="DEBUG",
        kafka_timeout_seconds=5,
    )

    def run(*args: str, extra_env=None, **settings):
        result = invoke(tmp_path, *args, extra_env=extra_env, **base, **settings)
        for key in keys:
            assert key not in result.stdout and key not in result.stderr, (args, result)
        return result

    ok = run(azure_connection_string=connection)
    assert ok.returncode == 0, ok.stderr[-2000:]
    checked = run("check", azure_connection_string=connection)
    assert checked.returncode == 0 and "PASS  destination" in checked.stdout, checked.stdout
    assert run("status", azure_connection_string=connection).returncode == 0
    secret_file = tmp_path / "azure-connection-string"
    secret_file.write_text(connection + "\n")
    from_file = {"KAFKA_BEAT_AZURE_CONNECTION_STRING_FILE": str(secret_file)}
    assert run(extra_env=from_file).returncode == 0

    refused = connection.replace(AZURITE_KEY, wrong_key)
    assert run(azure_connection_string=refused).returncode == 3
    refused_check = run("check", azure_connection_string=refused)
    assert refused_check.returncode == 3 and "refused these credentials" in refused_check.stdout
    assert run("status", azure_connection_string=refused).returncode != 0
    malformed = f"AccountName=devstoreaccount1;AccountKey={CANARY};BlobEndpoint=nowhere"
    assert run(azure_connection_string=malformed).returncode == 2
    assert run("check", azure_connection_string=malformed).returncode != 0
