"""librdkafka's configuration, mapped from the same settings kafka-python reads: the rules a
run depends on (no reset, no auto-commit), TLS and SASL, and the OAUTHBEARER callback."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from handler.config.settings import Settings
from handler.errors import AuthError, ConfigError
from handler.kafka.confluent.options import TokenCallback, consumer_config, msk_region

ROOT = Path(__file__).resolve().parents[3]


def settings(**values: object) -> Settings:
    values.setdefault("bootstrap_servers", ("b1:9092", "b2:9092"))
    return Settings(group_id="g", topics=("auth",), kafka_client="confluent", **values)


def jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}."


def test_no_reset_no_auto_commit_and_the_run_settings() -> None:
    config = consumer_config(settings(isolation_level="read_uncommitted"))

    assert config["auto.offset.reset"] == "error"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["isolation.level"] == "read_uncommitted"
    assert config["bootstrap.servers"] == "b1:9092,b2:9092"
    assert config["group.id"] == "g" and config["security.protocol"] == "plaintext"
    assert config["session.timeout.ms"] == 10_000


def test_tls_with_a_client_certificate(tmp_path) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("-")
    config = consumer_config(
        settings(
            security_protocol="SSL",
            ssl_cafile=tmp_path / "ca.pem",
            ssl_certfile=tmp_path / "cert.pem",
            ssl_keyfile=tmp_path / "key.pem",
            ssl_key_password="key-secret",
            ssl_check_hostname=False,
        )
    )

    assert config["security.protocol"] == "ssl"
    assert config["ssl.ca.location"] == str(tmp_path / "ca.pem")
    assert config["ssl.certificate.location"] == str(tmp_path / "cert.pem")
    assert config["ssl.key.location"] == str(tmp_path / "key.pem")
    assert config["ssl.key.password"] == "key-secret"
    assert config["ssl.endpoint.identification.algorithm"] == "none"


def test_tls_without_a_ca_file_uses_the_system_store() -> None:
    config = consumer_config(settings(security_protocol="SSL"))
    assert config["ssl.ca.location"] == "probe"
    assert config["ssl.endpoint.identification.algorithm"] == "https"


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_password_mechanisms(mechanism) -> None:
    config = consumer_config(
        settings(
            security_protocol="SASL_SSL",
            sasl_mechanism=mechanism,
            sasl_username="kafkabeat",
            sasl_password="pw",
        )
    )
    assert config["security.protocol"] == "sasl_ssl"
    assert (config["sasl.mechanism"], config["sasl.username"], config["sasl.password"]) == (
        mechanism,
        "kafkabeat",
        "pw",
    )


def test_oauthbearer_token_lifetime_and_principal_come_from_the_jwt() -> None:
    expires = int(time.time()) + 600
    token = jwt({"sub": "kafkabeat", "exp": expires})
    config = consumer_config(
        settings(security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER", sasl_oauth_token=token)
    )

    assert config["sasl.mechanism"] == "OAUTHBEARER"
    assert config["oauth_cb"](None) == (token, float(expires), "kafkabeat", {})


def test_oauthbearer_opaque_token_gets_a_lifetime() -> None:
    token, lifetime, principal, _ = TokenCallback("opaque", None, 5)(None)
    assert (token, principal) == ("opaque", "kafka-beat")
    assert time.time() + 3000 < lifetime < time.time() + 3700


def test_token_command_runs_for_each_token_and_its_failure_names_no_secret(tmp_path) -> None:
    script = tmp_path / "token_command.py"
    script.write_text("import time; print('token-%d' % time.monotonic_ns())\n")
    callback = TokenCallback(None, f"{sys.executable} {script}", 5)
    callback.prefetch()
    first, second = callback(None)[0], callback(None)[0]
    assert first.startswith("token-") and second.startswith("token-") and first != second

    failing = TokenCallback(None, f"{sys.executable} -c 'raise SystemExit(1)' secret-arg", 5)
    with pytest.raises(AuthError) as raised:
        failing.prefetch()
    assert str(raised.value) == (
        "KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND failed (CalledProcessError); run it by hand to see why"
    )


def test_msk_iam_signs_oauthbearer_tokens_in_the_cluster_region(monkeypatch) -> None:
    # MSK itself is out of reach: what is checked is that the token librdkafka gets is AWS's
    # presigned kafka-cluster:Connect, signed in the cluster's region with the run's own
    # credentials, with its expiry in seconds as librdkafka takes it.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAKAFKABEATTEST01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-of-the-lambda-role")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")  # the broker names win
    msk = settings(
        bootstrap_servers=("b-1.cluster.abc123.c2.kafka.eu-west-1.amazonaws.com:9098",),
        security_protocol="SASL_SSL",
        sasl_mechanism="AWS_MSK_IAM",
    )
    config = consumer_config(msk)
    assert config["sasl.mechanism"] == "OAUTHBEARER"
    assert "sasl.password" not in config and "sasl.oauthbearer.config" not in config
    assert msk_region(msk) == "eu-west-1"

    token, expires, principal, extensions = config["oauth_cb"](None)

    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).netloc == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIAKAFKABEATTEST01/")
    assert "/eu-west-1/kafka-cluster/aws4_request" in query["X-Amz-Credential"][0]
    assert query["X-Amz-Security-Token"] == ["session-token-of-the-lambda-role"]
    assert len(query["X-Amz-Signature"][0]) == 64
    assert time.time() < expires < time.time() + 3600
    assert principal == "kafka-beat" and extensions == {}


def test_msk_iam_without_the_signer_is_a_configuration_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "aws_msk_iam_sasl_signer", None)  # import fails
    msk = settings(
        bootstrap_servers=("b-1.cluster.kafka.eu-west-1.amazonaws.com:9098",),
        security_protocol="SASL_SSL",
        sasl_mechanism="AWS_MSK_IAM",
    )
    with pytest.raises(ConfigError, match=r"pip install 'kafka-beat\[librdkafka\]'"):
        consumer_config(msk)


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("handler.kafka.source", ("kafka", "confluent_kafka")),
        ("handler.engine.collector", ("kafka", "confluent_kafka")),
        ("handler.kafka.kafka_python.source", ("confluent_kafka",)),
        ("handler.kafka.confluent.source", ("kafka",)),
    ],
)
def test_each_client_is_imported_only_by_its_own_modules(module, absent) -> None:
    probe = f"import sys, {module}; print([m for m in {absent!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == "[]", done.stdout
