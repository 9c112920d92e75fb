"""The Kafka settings: which cluster, group and partitions a run reads, with which client, and
how it reaches the brokers (TLS, SASL); with the rules between them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode

from handler.config.values import (
    PartitionRef,
    env_name,
    needs_module,
    parse_partitions,
    split_list,
)


class KafkaSettings(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    bootstrap_servers: Annotated[tuple[str, ...], NoDecode] = Field(min_length=1)
    """Kafka brokers to bootstrap from, comma-separated host:port."""

    group_id: str = Field(min_length=1)
    """Consumer group whose committed offsets the run starts from and advances."""

    topics: Annotated[tuple[str, ...], NoDecode] = ()
    """Topics to collect, comma-separated (group mode: partitions are split among runs)."""

    topic_pattern: str | None = None
    """Regular expression of topics to collect instead of a fixed list (group mode); it must
    match the whole topic name (orders does not match orders-dlq)."""

    partitions: Annotated[tuple[PartitionRef, ...], NoDecode] = ()
    """Explicit partitions, e.g. auth:0,auth:2-3: assigned without a group join (fan-out);
    offsets are still committed to the group."""

    kafka_client: Annotated[
        Literal["kafka-python", "confluent"],
        AfterValidator(
            needs_module(
                "confluent",
                "confluent_kafka",
                "confluent needs the confluent-kafka package, which is not installed: "
                "pip install 'kafka-beat[librdkafka]', or set KAFKA_BEAT_KAFKA_CLIENT=kafka-python",
            )
        ),
    ] = "kafka-python"
    """The Kafka client: kafka-python (pure Python, always installed) or confluent
    (confluent-kafka on librdkafka: a run takes about two thirds of kafka-python's CPU; needs
    pip install 'kafka-beat[librdkafka]', refused without it). Same guarantee either way."""

    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    """Where a partition with no committed offset starts."""

    isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed"
    """read_committed never stores records of aborted transactions."""

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """How to reach the brokers: PLAINTEXT, SSL (TLS, optionally with a client certificate),
    SASL_PLAINTEXT or SASL_SSL."""

    ssl_cafile: Path | None = None
    """PEM bundle of the CAs that sign the brokers' certificates (default: the system's)."""

    ssl_certfile: Path | None = None
    """PEM client certificate, for brokers that require one (mTLS)."""

    ssl_keyfile: Path | None = None
    """PEM private key of the client certificate."""

    ssl_key_password: SecretStr | None = None
    """Password of the client key, if it has one (secret: also _FILE or a Secrets Manager ARN)."""

    ssl_check_hostname: bool = True
    """Verify that the broker's certificate names the host connected to. Turning it off is
    logged as a warning at every run."""

    sasl_mechanism: (
        Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "AWS_MSK_IAM"] | None
    ) = None
    """SASL mechanism, with KAFKA_BEAT_SECURITY_PROTOCOL SASL_SSL (or SASL_PLAINTEXT)."""

    sasl_username: str | None = None
    """User for PLAIN and SCRAM."""

    sasl_password: SecretStr | None = None
    """Password for PLAIN and SCRAM (secret: also _FILE or a Secrets Manager ARN)."""

    sasl_oauth_token: SecretStr | None = None
    """OAUTHBEARER: a static token (secret: also _FILE or a Secrets Manager ARN)."""

    sasl_oauth_token_command: str | None = None
    """OAUTHBEARER: a command that prints a fresh token, run whenever one is needed."""

    client_id: str = "kafka-beat"
    """Client id the broker sees in its logs and quotas."""

    kafka_timeout_seconds: float = Field(default=30.0, gt=1, le=300)
    """Timeout of one Kafka request (metadata, offsets, commit); also how long an unreachable
    broker is retried at start (a refused TLS or SASL login ends the run at once)."""

    session_timeout_seconds: float = Field(default=10.0, ge=6, le=300)
    """Group mode: how long the group waits for a member that stopped heartbeating (a killed
    run) before giving its partitions to the next run. Short, because runs are short."""

    commit_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts per offset commit on transient failures."""

    @field_validator("bootstrap_servers", "topics", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("partitions", mode="before")
    @classmethod
    def _partitions(cls, value: Any) -> Any:
        return parse_partitions(value)

    @field_validator("topic_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _selection(self) -> KafkaSettings:
        if not (self.topics or self.topic_pattern or self.partitions):
            raise ValueError(
                "nothing to collect: set KAFKA_BEAT_TOPICS, KAFKA_BEAT_TOPIC_PATTERN "
                "or KAFKA_BEAT_PARTITIONS"
            )
        if self.topic_pattern and (self.topics or self.partitions):
            raise ValueError(
                "KAFKA_BEAT_TOPIC_PATTERN cannot be combined with KAFKA_BEAT_TOPICS "
                "or KAFKA_BEAT_PARTITIONS; choose one"
            )
        stray = {ref.topic for ref in self.partitions} - set(self.topics)
        if self.topics and self.partitions and stray:
            raise ValueError(
                f"KAFKA_BEAT_PARTITIONS names topics {sorted(stray)} missing from "
                "KAFKA_BEAT_TOPICS; list them there too or leave KAFKA_BEAT_TOPICS unset"
            )
        return self

    @model_validator(mode="after")
    def _security(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not self.sasl_mechanism:
            raise ValueError(
                f"KAFKA_BEAT_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_BEAT_SASL_MECHANISM (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER "
                "or AWS_MSK_IAM)"
            )
        if self.sasl_mechanism and not sasl:
            raise ValueError(
                "KAFKA_BEAT_SASL_MECHANISM needs KAFKA_BEAT_SECURITY_PROTOCOL=SASL_SSL "
                "(or SASL_PLAINTEXT)"
            )
        if self.sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"SASL {self.sasl_mechanism} needs KAFKA_BEAT_SASL_USERNAME and "
                "KAFKA_BEAT_SASL_PASSWORD (or KAFKA_BEAT_SASL_PASSWORD_FILE)"
            )
        if self.sasl_mechanism == "OAUTHBEARER" and not (
            self.sasl_oauth_token or self.sasl_oauth_token_command
        ):
            raise ValueError(
                "SASL OAUTHBEARER needs KAFKA_BEAT_SASL_OAUTH_TOKEN (or its _FILE) or "
                "KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND"
            )
        if self.sasl_mechanism == "AWS_MSK_IAM" and self.security_protocol != "SASL_SSL":
            raise ValueError("SASL AWS_MSK_IAM needs KAFKA_BEAT_SECURITY_PROTOCOL=SASL_SSL")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ValueError("KAFKA_BEAT_SSL_CERTFILE and KAFKA_BEAT_SSL_KEYFILE go together")
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{env_name(name)}: '{path}' is not a readable file")
        return self

    @property
    def assign_mode(self) -> bool:
        """Explicit partitions are assigned directly; otherwise the run joins the group."""
        return bool(self.partitions)
