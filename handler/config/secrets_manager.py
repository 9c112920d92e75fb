"""Secrets kept in AWS Secrets Manager: a secret setting whose value is a Secrets Manager ARN
(optionally `#json_key` for one field of a JSON secret) is replaced by the secret's value when
the settings are loaded, so it is read with the run's own role and never stored in config."""

from __future__ import annotations

import json

from handler.errors import AuthError, ConfigError

_PREFIX = "arn:aws:secretsmanager:"


def is_reference(value: str) -> bool:
    return value.startswith(_PREFIX)


def fetch(reference: str, variable: str) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    arn, _, field = reference.partition("#")
    region = arn.split(":")[3]
    try:
        client = boto3.session.Session().client("secretsmanager", region_name=region)
        answer = client.get_secret_value(SecretId=arn)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            raise AuthError(
                f"{variable}: Secrets Manager refused {arn} ({code}); grant "
                "secretsmanager:GetSecretValue on it to this role"
            ) from None
        raise ConfigError(f"{variable}: cannot read {arn} from Secrets Manager ({code})") from None
    except BotoCoreError as exc:
        raise ConfigError(f"{variable}: cannot reach Secrets Manager: {exc}") from None
    text = answer.get("SecretString")
    if text is None:
        raise ConfigError(f"{variable}: {arn} holds a binary secret; store it as a string")
    if not field:
        return str(text)
    try:
        return str(json.loads(text)[field])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{variable}: {arn} is not JSON with a key '{field}'") from None
