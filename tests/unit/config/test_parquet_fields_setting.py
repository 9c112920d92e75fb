import pytest

from handler.config.loading import load_settings
from handler.errors import ConfigError
from handler.format.parquet_fields import ParquetField

BASE = {
    "KAFKA_BEAT_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "KAFKA_BEAT_GROUP_ID": "g",
    "KAFKA_BEAT_TOPICS": "auth",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_no_typed_fields_by_default(env) -> None:
    assert load_settings().parquet_fields == ()


def test_the_spec_is_parsed(env) -> None:
    env.setenv(
        "KAFKA_BEAT_PARQUET_FIELDS", "user:string,action:string,bytes:int64,@timestamp:timestamp"
    )
    assert load_settings().parquet_fields == (
        ParquetField("user", "string", "user"),
        ParquetField("action", "string", "action"),
        ParquetField("bytes", "int64", "bytes"),
        ParquetField("@timestamp", "timestamp", "@timestamp"),
    )


def test_a_column_can_be_named(env) -> None:
    env.setenv("KAFKA_BEAT_PARQUET_FIELDS", "event.created:timestamp:created")
    assert load_settings().parquet_fields == (
        ParquetField("event.created", "timestamp", "created"),
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "bytes:integer",
            "KAFKA_BEAT_PARQUET_FIELDS: 'bytes:integer': unknown type 'integer'; "
            "valid types are string, int64, float64, bool, timestamp",
        ),
        ("user", "KAFKA_BEAT_PARQUET_FIELDS: 'user' is not a typed field; write FIELD:TYPE"),
        ("offset:int64", "KAFKA_BEAT_PARQUET_FIELDS: 'offset:int64': column 'offset' is taken"),
        ("a:string,a:bool", "KAFKA_BEAT_PARQUET_FIELDS: 'a:bool': column 'a' is already made"),
    ],
)
def test_a_bad_spec_is_a_config_error_naming_the_variable(env, spec: str, message: str) -> None:
    env.setenv("KAFKA_BEAT_PARQUET_FIELDS", spec)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)


def test_the_variable_is_known(env) -> None:
    env.setenv("KAFKA_BEAT_PARQUET_FIELD", "user:string")  # a typo: the hint names the real one
    with pytest.raises(ConfigError, match="did you mean KAFKA_BEAT_PARQUET_FIELDS"):
        load_settings()
