"""AWS MSK IAM: the signed token cannot be checked without MSK, so this checks that the settings
select kafka-python's mechanism and that it signs with the run's own AWS credentials."""

import json

from kafka.net.sasl.msk import SaslMechanismAwsMskIam

from handler.config.settings import Settings
from handler.kafka.kafka_python.options import security_options


def test_msk_iam_token_is_signed_with_the_configured_credentials(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAKAFKABEATTEST01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-of-the-lambda-role")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    settings = Settings(
        bootstrap_servers=("b-1.cluster.kafka.eu-west-1.amazonaws.com:9098",),
        group_id="g",
        topics=("auth",),
        security_protocol="SASL_SSL",
        sasl_mechanism="AWS_MSK_IAM",
    )
    options = security_options(settings)
    assert options["sasl_mechanism"] == "AWS_MSK_IAM"
    assert "sasl_plain_password" not in options  # no stored password: the role signs

    mechanism = SaslMechanismAwsMskIam(
        security_protocol=options["security_protocol"],
        host="b-1.cluster.kafka.eu-west-1.amazonaws.com",
    )
    token = json.loads(mechanism.auth_bytes())

    assert token["action"] == "kafka-cluster:Connect"
    assert token["host"] == "b-1.cluster.kafka.eu-west-1.amazonaws.com"
    assert token["x-amz-credential"].startswith("AKIAKAFKABEATTEST01/")
    assert "/eu-west-1/kafka-cluster/aws4_request" in token["x-amz-credential"]
    assert token["x-amz-security-token"] == "session-token-of-the-lambda-role"
    assert len(token["x-amz-signature"]) == 64
