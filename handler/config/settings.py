"""Settings: every knob of a run, read once from `KAFKA_BEAT_*` env vars and an optional `.env`.

Built once at the entry point and passed down; nothing else reads the environment. A bad value
becomes a `ConfigError` naming the variable and what to change, before any connection is made.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handler import failpoints
from handler.config.parquet_fields import ParquetField, parse_fields
from handler.config.values import (
    Destination,
    PartitionRef,
    parse_destination,
    parse_partitions,
    split_list,
)

ENV_PREFIX = "KAFKA_BEAT_"
SECRET_FIELDS = (
    "ssl_key_password",
    "sasl_password",
    "sasl_oauth_token",
    "azure_connection_string",
)
# The parts of an Azure connection string that are secrets of their own, should a library
# ever print one without the rest.
_SCHEME = {"s3": "s3://", "gcs": "gs://", "azure": "az://"}
_CONNECTION_STRING_SECRETS = re.compile(r"(?i)(?:AccountKey|SharedAccessSignature)=([^;]+)")


class Settings(BaseSettings):
    """One run's configuration. Each field is `KAFKA_BEAT_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        use_attribute_docstrings=True,
    )

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

    kafka_client: Literal["kafka-python", "confluent"] = "kafka-python"
    """The Kafka client: kafka-python (pure Python, always installed) or confluent
    (confluent-kafka on librdkafka: a run takes about two thirds of kafka-python's CPU; needs
    pip install 'kafka-beat[librdkafka]', refused without it). Same guarantee either way."""

    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    """Where a partition with no committed offset starts."""

    isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed"
    """read_committed never stores records of aborted transactions."""

    max_records: int | None = Field(default=None, gt=0)
    """Stop after this many records in all (default: no record budget)."""

    max_seconds: float | None = Field(default=None, gt=0)
    """Time budget of the run: consuming stops early enough for storing the open objects and
    the commit to fit within it (default: no time budget)."""

    destination: str = "./kafka-beat-data"
    """s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, file:///dir or a plain
    directory path."""

    format: Literal["jsonl", "parquet"] = "jsonl"
    """Objects as JSON lines (one record per line) or as Parquet (columns query engines read
    directly; needs pip install 'kafka-beat[parquet]')."""

    compression: Literal["gzip", "zstd", "snappy", "none"] = "gzip"
    """Compression of each object (JSON lines: gzip, zstd or none; Parquet pages: any)."""

    compression_level: int | None = Field(default=None, ge=1, le=22)
    """Compression level (gzip 1-9, zstd 1-22); default: the codec's own (for JSON lines,
    gzip 6 and zstd 3)."""

    max_object_records: int = Field(default=500_000, gt=0)
    """Rotate an object after this many records."""

    max_object_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Rotate an object once its uncompressed JSON lines reach this many bytes."""

    upload_threads: int = Field(default=4, ge=0, le=64)
    """Threads storing sealed objects while the run goes on consuming (0: store on the
    consuming thread, one object at a time)."""

    spool_memory_bytes: int = Field(default=2 * 1024 * 1024, ge=0)
    """Compressed bytes an open object keeps in memory before spilling to a temporary file.
    Every partition has one open object: with many open, each keeps its share of 32 MiB if
    that is less, and never less than 256 KiB."""

    parquet_fields: str = ""
    """JSON fields of the values promoted into typed Parquet columns, e.g.
    user:string,bytes:int64,@timestamp:timestamp (types string, int64, float64, bool,
    timestamp; FIELD:TYPE:COLUMN names the column)."""

    key_format: Literal["auto", "json", "text", "bytes"] = "auto"
    """How keys are read: auto (JSON, else UTF-8 text, else base64; never invalid), json
    (anything else is invalid), text (invalid UTF-8 is invalid) or bytes (always base64)."""

    value_format: Literal["auto", "json", "text", "bytes"] = "auto"
    """How values are read; the same choices as KAFKA_BEAT_KEY_FORMAT."""

    on_invalid: Literal["dead_letter", "keep", "fail"] = "dead_letter"
    """A record whose key or value does not match its format: dead_letter (stored under the
    dead-letter prefix with the reason), keep (stored in the normal stream, raw, with the
    reason), or fail (the partition stops before it; the run exits 1 naming it)."""

    time_field: str | None = None
    """Field of JSON values whose time (ISO-8601 or epoch) places a record in its time folder,
    e.g. @timestamp or event.created; records without it use the Kafka timestamp."""

    on_data_loss: Literal["fail", "skip"] = "fail"
    """When retention deleted records before they were read: fail (exit 1, nothing skipped),
    or skip (continue from the earliest record left and report the loss)."""

    delivery: Literal["exactly_once", "at_least_once"] = "exactly_once"
    """exactly_once refuses a destination that does not honour create-only writes;
    at_least_once accepts it, and with it duplicates after crashes or overlapping runs."""

    s3_endpoint_url: str | None = None
    """Endpoint of an S3-compatible store (default: AWS S3 for the region)."""

    s3_region: str | None = None
    """AWS region of the bucket (default: from the AWS environment)."""

    s3_sse: Literal["AES256", "aws:kms"] | None = None
    """Server-side encryption of each object (default: the bucket's default encryption)."""

    s3_kms_key_id: str | None = None
    """KMS key id, ARN or alias for KAFKA_BEAT_S3_SSE=aws:kms (default: the AWS managed key)."""

    s3_expected_bucket_owner: str | None = None
    """AWS account id that must own the bucket: a typo in the bucket name then fails instead
    of writing into someone else's bucket."""

    s3_object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None
    """S3 Object Lock retention set on every object written (the bucket must have Object Lock
    enabled)."""

    s3_object_lock_days: int | None = Field(default=None, gt=0)
    """Days of Object Lock retention, with KAFKA_BEAT_S3_OBJECT_LOCK_MODE."""

    gcs_endpoint_url: str | None = None
    """Endpoint of a GCS-compatible server, e.g. an emulator at http://127.0.0.1:4443 (used
    with anonymous credentials); default: Google Cloud Storage, with Application Default
    Credentials."""

    azure_account_url: str | None = None
    """Blob endpoint of the Azure storage account, https://ACCOUNT.blob.core.windows.net,
    authenticated with DefaultAzureCredential (managed identity, workload identity,
    environment, Azure CLI); for az:// destinations, unless a connection string is given."""

    azure_connection_string: SecretStr | None = None
    """Azure Storage connection string (account key or SAS) instead of
    KAFKA_BEAT_AZURE_ACCOUNT_URL (secret: also _FILE or a Secrets Manager ARN)."""

    upload_attempts: int = Field(default=6, ge=1, le=20)
    """Attempts per object upload on transient failures, with exponential backoff and jitter."""

    commit_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts per offset commit on transient failures."""

    kafka_timeout_seconds: float = Field(default=30.0, gt=1, le=300)
    """Timeout of one Kafka request (metadata, offsets, commit); also how long an unreachable
    broker is retried at start (a refused TLS or SASL login ends the run at once)."""

    session_timeout_seconds: float = Field(default=10.0, ge=6, le=300)
    """Group mode: how long the group waits for a member that stopped heartbeating (a killed
    run) before giving its partitions to the next run. Short, because runs are short."""

    lambda_margin_seconds: float = Field(default=20.0, ge=0)
    """In Lambda: seconds kept back from the remaining time for the last upload and commit."""

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

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Level of the JSON log lines on stderr."""

    dry_run: bool = False
    """Consume and encode, but store nothing and commit nothing; report what would be written."""

    metrics_file: Path | None = None
    """Write a Prometheus text file here after each run (node_exporter textfile collector),
    e.g. /var/lib/node_exporter/textfile/kafka_beat.prom."""

    failpoint: str | None = None
    """Fault-injection tests only: STEP[:N[:kill|stop|error]] fails the run on purpose at
    that step (see handler/failpoints.py). Never set it in production."""

    @field_validator("bootstrap_servers", "topics", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("partitions", mode="before")
    @classmethod
    def _partitions(cls, value: Any) -> Any:
        return parse_partitions(value)

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        parse_destination(value)
        return value

    @field_validator("topic_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @field_validator("kafka_client")
    @classmethod
    def _client_installed(cls, value: str) -> str:
        # find_spec, not an import: librdkafka is loaded only by the source that uses it.
        if value == "confluent" and importlib.util.find_spec("confluent_kafka") is None:
            raise ValueError(
                "confluent needs the confluent-kafka package, which is not installed: "
                "pip install 'kafka-beat[librdkafka]', or set KAFKA_BEAT_KAFKA_CLIENT=kafka-python"
            )
        return value

    @field_validator("failpoint")
    @classmethod
    def _failpoint(cls, value: str | None) -> str | None:
        if value:
            failpoints.parse(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
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
        self._check_security()
        if bool(self.s3_object_lock_mode) != bool(self.s3_object_lock_days):
            raise ValueError(
                "KAFKA_BEAT_S3_OBJECT_LOCK_MODE and KAFKA_BEAT_S3_OBJECT_LOCK_DAYS go together"
            )
        if self.s3_kms_key_id and self.s3_sse != "aws:kms":
            raise ValueError("KAFKA_BEAT_S3_KMS_KEY_ID needs KAFKA_BEAT_S3_SSE=aws:kms")
        if self.compression == "gzip" and (self.compression_level or 0) > 9:
            raise ValueError("KAFKA_BEAT_COMPRESSION_LEVEL for gzip is 1 to 9")
        self._check_format()
        self._check_store_settings()
        return self

    def _check_format(self) -> None:
        if self.format == "jsonl":
            if self.compression == "snappy":
                raise ValueError(
                    "KAFKA_BEAT_COMPRESSION=snappy is for Parquet pages; JSON lines take gzip, "
                    "zstd or none (or set KAFKA_BEAT_FORMAT=parquet)"
                )
            if self.parquet_fields:
                raise ValueError("KAFKA_BEAT_PARQUET_FIELDS needs KAFKA_BEAT_FORMAT=parquet")
            return
        # find_spec, not an import: pyarrow is loaded only by the first Parquet object.
        if importlib.util.find_spec("pyarrow") is None:
            raise ValueError(
                "KAFKA_BEAT_FORMAT=parquet: Parquet objects need pyarrow, which the base install "
                "leaves out: pip install 'kafka-beat[parquet]'"
            )
        try:
            parse_fields(self.parquet_fields)
        except ValueError as exc:
            raise ValueError(f"KAFKA_BEAT_PARQUET_FIELDS: {exc}") from exc

    def parquet_columns(self) -> tuple[ParquetField, ...]:
        """The typed columns KAFKA_BEAT_PARQUET_FIELDS names (validated at load)."""
        return parse_fields(self.parquet_fields)

    def _check_store_settings(self) -> None:
        """Each store's settings only with a destination of that store, and Azure's account."""
        kind = self.target().kind
        given = {
            "s3": any((self.s3_endpoint_url, self.s3_region, self.s3_sse)),
            "gcs": self.gcs_endpoint_url is not None,
            "azure": self.azure_account_url is not None or self.azure_connection_string is not None,
        }
        example = {
            "s3": ("S3", "s3://bucket/prefix"),
            "gcs": ("GCS", "gs://bucket/prefix"),
            "azure": ("AZURE", "az://container/prefix"),
        }
        for store, present in given.items():
            if present and kind != store:
                name, url = example[store]
                where = "a local directory" if kind == "local" else f"a {_SCHEME[kind]} destination"
                raise ValueError(
                    f"KAFKA_BEAT_{name}_* settings are given but KAFKA_BEAT_DESTINATION is "
                    f"{where}; set KAFKA_BEAT_DESTINATION={url} or unset them"
                )
        if kind == "azure" and (self.azure_account_url is None) == (
            self.azure_connection_string is None
        ):
            raise ValueError(
                "an az:// destination needs exactly one of KAFKA_BEAT_AZURE_ACCOUNT_URL "
                "(https://ACCOUNT.blob.core.windows.net, with DefaultAzureCredential) and "
                "KAFKA_BEAT_AZURE_CONNECTION_STRING"
            )

    def _check_security(self) -> None:
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

    def secrets(self) -> list[str]:
        """Every secret value, so logs and messages can be scrubbed of them."""
        values = [getattr(self, name) for name in SECRET_FIELDS]
        found = [value.get_secret_value() for value in values if value is not None]
        if self.azure_connection_string is not None:
            connection = self.azure_connection_string.get_secret_value()
            found.extend(_CONNECTION_STRING_SECRETS.findall(connection))
        return found

    def target(self) -> Destination:
        return parse_destination(self.destination)

    @property
    def assign_mode(self) -> bool:
        """Explicit partitions are assigned directly; otherwise the run joins the group."""
        return bool(self.partitions)


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"
