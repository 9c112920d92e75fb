import sys

import pytest

from handler.config.loading import load_settings
from handler.config.values import PartitionRef
from handler.errors import ConfigError

BASE = {"KAFKA_BEAT_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "KAFKA_BEAT_GROUP_ID": "g"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"KAFKA_BEAT_{name.upper()}", value)

    return set_env


def test_lists_and_partitions_are_comma_separated(env) -> None:
    env(topics="auth, dns", partitions="auth:0,auth:2-3,dns:1")
    settings = load_settings()
    assert settings.topics == ("auth", "dns")
    assert settings.partitions == (
        PartitionRef("auth", 0),
        PartitionRef("auth", 2),
        PartitionRef("auth", 3),
        PartitionRef("dns", 1),
    )
    assert settings.assign_mode


def test_defaults_need_no_cloud(env) -> None:
    env(topics="auth")
    settings = load_settings()
    assert settings.target().kind == "local"
    assert settings.compression == "gzip"
    assert settings.isolation_level == "read_committed"
    assert settings.on_data_loss == "fail"


def test_s3_destination_is_parsed(env) -> None:
    env(topics="auth", destination="s3://logs-prod/kafka/raw/")
    target = load_settings().target()
    assert (target.kind, target.bucket, target.prefix) == ("s3", "logs-prod", "kafka/raw")


def test_gcs_and_azure_destinations_are_parsed(env) -> None:
    env(topics="auth", destination="gs://logs_prod.example/kafka/raw/")
    target = load_settings().target()
    assert (target.kind, target.bucket, target.prefix) == ("gcs", "logs_prod.example", "kafka/raw")
    env(destination="az://kafka-logs/raw", azure_account_url="https://acct.blob.core.windows.net")
    target = load_settings().target()
    assert (target.kind, target.bucket, target.prefix) == ("azure", "kafka-logs", "raw")


def test_an_azure_connection_string_is_a_secret_and_so_are_its_parts(env) -> None:
    key = "S2ItTGVhay1DYW5hcnk="
    sas = "sv=2026-01-01&sig=Kb%2Fcanary"
    connection = f"AccountName=acct;AccountKey={key};SharedAccessSignature={sas}"
    env(topics="auth", destination="az://kafka-logs", azure_connection_string=connection)
    settings = load_settings()
    assert set(settings.secrets()) == {connection, key, sas}
    assert key not in repr(settings) and key not in str(settings.model_dump())


def test_a_bad_value_of_a_secret_is_not_echoed(env) -> None:
    env(topics="auth", destination="s3://bkt", azure_connection_string="AccountKey=Kb-Leak")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "KAFKA_BEAT_AZURE_* settings are given" in str(caught.value)
    assert "Kb-Leak" not in str(caught.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"compression": "lz4"},
            "KAFKA_BEAT_COMPRESSION: Input should be 'gzip', 'zstd', 'snappy' or 'none'",
        ),
        ({"max_records": "0"}, "KAFKA_BEAT_MAX_RECORDS: Input should be greater than 0"),
        ({"max_seconds": "soon"}, "KAFKA_BEAT_MAX_SECONDS"),
        ({"partitions": "auth"}, "write topic:N or topic:FIRST-LAST"),
        (
            {"destination": "wasb://bucket"},
            "scheme 'wasb://' is not supported; use s3://bucket/prefix, gs://bucket/prefix, "
            "az://container/prefix",
        ),
        ({"destination": "s3://UPPER"}, "not a valid S3 bucket name"),
        ({"destination": "gs://-bucket"}, "not a valid GCS bucket name; write gs://BUCKET"),
        (
            {"destination": "az://ab", "azure_account_url": "https://a.blob.core.windows.net"},
            "not a valid Azure container name",
        ),
        (
            {"destination": "az://double--hyphen", "azure_account_url": "https://a.blob.x"},
            "not a valid Azure container name",
        ),
        ({"destination": "az://logs"}, "needs exactly one of KAFKA_BEAT_AZURE_ACCOUNT_URL"),
        (
            {
                "destination": "az://logs",
                "azure_account_url": "https://a.blob.core.windows.net",
                "azure_connection_string": "AccountName=a;AccountKey=k",
            },
            "needs exactly one of KAFKA_BEAT_AZURE_ACCOUNT_URL",
        ),
        (
            {"destination": "gs://bkt", "s3_endpoint_url": "http://127.0.0.1:9000"},
            "KAFKA_BEAT_S3_* settings are given but KAFKA_BEAT_DESTINATION is a gs:// destination",
        ),
        (
            {"destination": "s3://bkt", "gcs_endpoint_url": "http://127.0.0.1:4443"},
            "KAFKA_BEAT_GCS_* settings are given",
        ),
        (
            {"azure_account_url": "https://a.blob.core.windows.net"},
            "KAFKA_BEAT_AZURE_* settings are given but KAFKA_BEAT_DESTINATION is a local",
        ),
        ({"topic_pattern": "("}, "KAFKA_BEAT_TOPIC_PATTERN: not a valid regular expression"),
        ({"topic_pattern": "a.*", "topics": "b"}, "cannot be combined"),
        ({"s3_kms_key_id": "alias/x", "destination": "s3://bkt"}, "needs KAFKA_BEAT_S3_SSE"),
        ({"on_data_loss": "ignore"}, "'fail' or 'skip'"),
        ({"max_recods": "5"}, "did you mean KAFKA_BEAT_MAX_RECORDS"),
        ({"format": "csv"}, "KAFKA_BEAT_FORMAT: Input should be 'jsonl' or 'parquet'"),
        (
            {"format": "parquet", "compression": "brotli"},
            "KAFKA_BEAT_COMPRESSION: Input should be",
        ),
        ({"compression": "snappy"}, "snappy is for Parquet pages; JSON lines take gzip"),
        ({"parquet_fields": "user:string"}, "KAFKA_BEAT_PARQUET_FIELDS needs KAFKA_BEAT_FORMAT"),
        (
            {"format": "parquet", "parquet_fields": "user:text"},
            "KAFKA_BEAT_PARQUET_FIELDS: 'user:text': unknown type 'text'",
        ),
        (
            {"format": "parquet", "parquet_fields": "n:int64:offset"},
            "column 'offset' is taken by a column every object has",
        ),
    ],
)
def test_bad_values_name_the_variable(env, values, message) -> None:
    env(topics="auth", **{k: v for k, v in values.items() if k != "topics"})
    if "topics" in values:
        env(topics=values["topics"])
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)


def test_nothing_to_collect(env) -> None:
    with pytest.raises(ConfigError, match="nothing to collect"):
        load_settings()


def test_missing_required_setting_is_named(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAFKA_BEAT_TOPICS", "auth")
    monkeypatch.delenv("KAFKA_BEAT_GROUP_ID", raising=False)
    monkeypatch.delenv("KAFKA_BEAT_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "KAFKA_BEAT_GROUP_ID: Field required" in str(caught.value)
    assert "KAFKA_BEAT_BOOTSTRAP_SERVERS: Field required" in str(caught.value)


def test_overrides_win_over_the_environment(env) -> None:
    env(topics="auth", max_records="10")
    assert load_settings({"max_records": 99, "max_seconds": None}).max_records == 99


def test_dot_env_file_is_read(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in BASE:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "KAFKA_BEAT_BOOTSTRAP_SERVERS=b:1\nKAFKA_BEAT_GROUP_ID=g\nKAFKA_BEAT_TOPICS=x\n"
    )
    assert load_settings().bootstrap_servers == ("b:1",)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs KAFKA_BEAT_SASL_MECHANISM"),
        ({"sasl_mechanism": "PLAIN"}, "needs KAFKA_BEAT_SECURITY_PROTOCOL=SASL_SSL"),
        (
            {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": "u",
            },
            "needs KAFKA_BEAT_SASL_USERNAME and KAFKA_BEAT_SASL_PASSWORD",
        ),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER"},
            "KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND",
        ),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "AWS_MSK_IAM"},
            "AWS_MSK_IAM needs KAFKA_BEAT_SECURITY_PROTOCOL=SASL_SSL",
        ),
        ({"security_protocol": "SSL", "ssl_cafile": "/no/such/ca.pem"}, "is not a readable file"),
        ({"security_protocol": "SSL", "ssl_certfile": "/etc/hostname"}, "go together"),
        ({"destination": "s3://bkt", "s3_object_lock_mode": "COMPLIANCE"}, "go together"),
        ({"security_protocol": "TLS"}, "'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'"),
    ],
)
def test_security_settings_name_what_is_missing(env, values, message) -> None:
    env(topics="auth", **values)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)


def test_a_secret_is_never_echoed_in_a_config_error(env) -> None:
    env(topics="auth", sasl_password="Kb-Canary-in-error", compression="lz4")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "Kb-Canary-in-error" not in str(caught.value)


def test_secret_file_is_read_without_its_newline(env, tmp_path, monkeypatch) -> None:
    (tmp_path / "pw").write_text("from-a-file\n")
    monkeypatch.setenv("KAFKA_BEAT_SASL_PASSWORD_FILE", str(tmp_path / "pw"))
    env(topics="auth", security_protocol="SASL_SSL", sasl_mechanism="PLAIN", sasl_username="u")
    settings = load_settings()
    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == "from-a-file"
    assert settings.secrets() == ["from-a-file"]
    assert "from-a-file" not in repr(settings)


def test_unreadable_secret_file_is_named(env, monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_BEAT_SASL_PASSWORD_FILE", "/no/such/file")
    env(topics="auth")
    with pytest.raises(ConfigError, match="KAFKA_BEAT_SASL_PASSWORD_FILE: cannot read"):
        load_settings()


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://s3.example.com", True),
        ("http://127.0.0.1:9000", True),
        ("http://localhost:9000", True),
        ("http://minio.internal:9000", False),
        ("http://10.0.0.5:9000", False),
    ],
)
@pytest.mark.parametrize(
    "variable",
    ["KAFKA_BEAT_S3_ENDPOINT_URL", "KAFKA_BEAT_GCS_ENDPOINT_URL", "KAFKA_BEAT_AZURE_ACCOUNT_URL"],
)
def test_store_endpoints_must_use_tls_unless_local(variable, endpoint, allowed) -> None:
    from handler.stores.remote import require_tls

    if allowed:
        require_tls(variable, endpoint)
    else:
        with pytest.raises(ConfigError, match=f"{variable} .* is not HTTPS"):
            require_tls(variable, endpoint)


def test_parquet_without_pyarrow_is_bad_config_naming_the_extra(env, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    env(topics="auth", format="parquet")
    with pytest.raises(ConfigError, match=r"pip install 'kafka-beat\[parquet\]'"):
        load_settings()


def test_parquet_settings_give_the_typed_columns(env) -> None:
    env(
        topics="auth",
        format="parquet",
        compression="snappy",
        parquet_fields="user:string,n:int64:count",
    )
    settings = load_settings()
    assert [(f.field, f.type, f.column) for f in settings.parquet_columns()] == [
        ("user", "string", "user"),
        ("n", "int64", "count"),
    ]


def test_kafka_client_defaults_to_kafka_python_and_accepts_confluent(env) -> None:
    env(topics="auth")
    assert load_settings().kafka_client == "kafka-python"
    env(kafka_client="confluent")
    assert load_settings().kafka_client == "confluent"


def test_confluent_without_the_package_says_what_to_install(env, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)  # as if not installed
    env(topics="auth", kafka_client="confluent")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "KAFKA_BEAT_KAFKA_CLIENT: confluent needs the confluent-kafka package" in str(
        raised.value
    )
    assert "pip install 'kafka-beat[librdkafka]'" in str(raised.value)


def test_unknown_kafka_client_lists_the_valid_ones(env) -> None:
    env(topics="auth", kafka_client="librdkafka")
    with pytest.raises(ConfigError, match="'kafka-python' or 'confluent'"):
        load_settings()
