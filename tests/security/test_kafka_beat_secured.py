"""Kafka Beat against the secured broker: every mechanism that can run here collects, and every
refusal ends fast with exit 3 (or the named failure), one line saying what to change, nothing
stored and no offset moved."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from kafka.admin import ACLOperation, ResourceType
from kafka.errors import CoordinatorNotAvailableError

from handler.config.settings import Settings
from handler.engine.collector import run
from handler.kafka.clients import open_source
from scripts.kafka_broker import HOST, free_port
from tests.support import runs
from tests.support.fixtures import over_clients, unique
from tests.support.secure_broker import SecureBroker, unsecured_jwt

MECHANISMS = [
    "PLAIN",
    "SCRAM-SHA-256",
    "SCRAM-SHA-512",
    "OAUTHBEARER",
    "OAUTHBEARER-command",
    "mTLS",
    "mTLS-encrypted-key",
]


def secured(broker: SecureBroker, how: str, tmp_path: Path) -> dict[str, object]:
    certs = broker.certificates
    if how.startswith("mTLS"):
        values: dict[str, object] = {
            "bootstrap_servers": broker.ssl_bootstrap,
            "security_protocol": "SSL",
            "ssl_cafile": certs.ca_file,
            "ssl_certfile": certs.client_cert_file,
            "ssl_keyfile": certs.client_key_file,
        }
        if how == "mTLS-encrypted-key":
            values["ssl_keyfile"] = certs.client_key_encrypted_file
            values["ssl_key_password"] = certs.client_key_password
        return values
    values = {
        "bootstrap_servers": broker.sasl_ssl_bootstrap,
        "security_protocol": "SASL_SSL",
        "ssl_cafile": certs.ca_file,
        "sasl_mechanism": how.split("-command", maxsplit=1)[0],
    }
    if how == "OAUTHBEARER":
        values["sasl_oauth_token"] = unsecured_jwt(broker.user)
    elif how == "OAUTHBEARER-command":
        script = tmp_path / "oauth_token_command.py"  # not token.py: the stdlib has one
        script.write_text(f"print({unsecured_jwt(broker.user)!r})\n")
        values["sasl_oauth_token_command"] = f"{sys.executable} {script}"
    else:
        values["sasl_username"] = broker.user
        values["sasl_password"] = broker.password
    return values


@over_clients
@pytest.mark.parametrize("how", MECHANISMS)
def test_collects_with_each_mechanism(how, kafka_client, secure_broker, granted, tmp_path) -> None:
    secure_broker.produce(granted.topic, [b'{"n": %d}' % n for n in range(5)])
    settings = Settings(
        kafka_client=kafka_client,
        group_id=granted.group,
        topics=(granted.topic,),
        destination=str(tmp_path / "out"),
        kafka_timeout_seconds=10,
        **secured(secure_broker, how, tmp_path),
    )

    report = run(settings)

    assert report.status == "ok", report.errors
    assert report.records == 5 and report.kafka_client == kafka_client
    offsets = secure_broker.admin.list_group_offsets({granted.group: None})[granted.group]
    assert [meta.offset for meta in offsets.values()] == [5]


def cli(
    tmp_path: Path, *command: str, kafka_timeout_seconds: float = 5, **settings: object
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "handler", *command],
        env=runs.environment(
            kafka_timeout_seconds=kafka_timeout_seconds, destination=tmp_path / "out", **settings
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert SecureBroker.secret not in result.stdout + result.stderr
    return result


def nothing_moved(broker: SecureBroker, group: str, tmp_path: Path) -> bool:
    for _ in range(50):
        try:
            offsets = broker.admin.list_group_offsets({group: None})[group]
            break
        except CoordinatorNotAvailableError:
            # A fresh broker creates __consumer_offsets on the first group lookup; a run that
            # was refused may not have made one.
            time.sleep(0.2)
    else:
        raise AssertionError(f"no coordinator for group {group}")
    stored = (
        [p for p in (tmp_path / "out").rglob("*.jsonl*")] if (tmp_path / "out").exists() else []
    )
    return not offsets and not stored


@dataclass(frozen=True)
class Refusal:
    how: str
    """The working configuration (see `secured`) the case starts from."""
    changes: Callable[[SecureBroker], dict[str, object]]
    """What is wrong in it (None removes a setting)."""
    says: tuple[str, ...]
    """The fix the message names: one of these (see CLOSED below)."""


# kafka-python drops the broker's SASL error when it reads it together with the broker's close,
# so an attempt may show only the close. Kafka Beat waits SASL_GRACE_SECONDS for an attempt
# with the reason; if none comes, it says what that close almost always means.
CLOSED = "the brokers closed the connection after TLS was set up, most likely refusing the "
CREDENTIALS = "the brokers refused the credentials: check KAFKA_BEAT_SASL_USERNAME and "
PLAINTEXT = {
    "security_protocol": "PLAINTEXT",
    "sasl_mechanism": None,
    "sasl_username": None,
    "sasl_password": None,
    "ssl_cafile": None,
}

REFUSALS = {
    "wrong password (PLAIN)": Refusal(
        "PLAIN", lambda b: {"sasl_password": "not-the-password"}, (CREDENTIALS, CLOSED)
    ),
    "wrong password (SCRAM-SHA-256)": Refusal(
        "SCRAM-SHA-256", lambda b: {"sasl_password": "not-the-password"}, (CREDENTIALS, CLOSED)
    ),
    "unknown user (SCRAM-SHA-512)": Refusal(
        "SCRAM-SHA-512", lambda b: {"sasl_username": "nobody"}, (CREDENTIALS, CLOSED)
    ),
    "expired token (OAUTHBEARER)": Refusal(
        "OAUTHBEARER",
        lambda b: {"sasl_oauth_token": unsecured_jwt(lifetime_seconds=-600)},
        (
            "the brokers refused the OAUTHBEARER token (expired or invalid)",
            "the brokers closed the connection during SASL OAUTHBEARER, most likely refusing "
            "the token",
        ),
    ),
    "token command fails (OAUTHBEARER)": Refusal(
        "OAUTHBEARER-command",
        lambda b: {"sasl_oauth_token_command": f"{sys.executable} -c 'raise SystemExit(1)'"},
        ("KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND failed (CalledProcessError)",),
    ),
    "unsupported mechanism": Refusal(
        # The WRONGHOST listener enables PLAIN only; its certificate names another host.
        "SCRAM-SHA-512",
        lambda b: {"bootstrap_servers": b.wrong_host_bootstrap, "ssl_check_hostname": "false"},
        (
            "the listener does not enable this SASL mechanism: set KAFKA_BEAT_SASL_MECHANISM",
            CLOSED,
        ),
    ),
    "SASL to a listener without SASL": Refusal(
        "PLAIN",
        lambda b: {
            "bootstrap_servers": b.plaintext_bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "ssl_cafile": None,
        },
        ("the listener does not use SASL: set KAFKA_BEAT_SECURITY_PROTOCOL", CLOSED),
    ),
    "untrusted CA": Refusal(
        "PLAIN",
        lambda b: {"ssl_cafile": b.certificates.other_ca_file},
        ("the broker's certificate is not signed by a trusted CA: set KAFKA_BEAT_SSL_CAFILE",),
    ),
    "hostname mismatch": Refusal(
        "PLAIN",
        lambda b: {"bootstrap_servers": b.wrong_host_bootstrap},
        ("the broker's certificate does not name the host connected to",),
    ),
    "expired client certificate (mTLS)": Refusal(
        "mTLS",
        lambda b: {
            "ssl_certfile": b.certificates.expired_client_cert_file,
            "ssl_keyfile": b.certificates.expired_client_key_file,
        },
        ("the broker refused the client certificate (expired, or not signed by a CA it",),
    ),
    "client certificate from another CA (mTLS)": Refusal(
        "mTLS",
        lambda b: {
            "ssl_certfile": b.certificates.untrusted_client_cert_file,
            "ssl_keyfile": b.certificates.untrusted_client_key_file,
        },
        ("the broker refused the client certificate (expired, or not signed by a CA it",),
    ),
    "no client certificate (mTLS handshake)": Refusal(
        "mTLS",
        lambda b: {"ssl_certfile": None, "ssl_keyfile": None},
        ("the broker requires a client certificate: set KAFKA_BEAT_SSL_CERTFILE",),
    ),
    "wrong client key password": Refusal(
        "mTLS-encrypted-key",
        lambda b: {"ssl_key_password": "not-the-password"},
        ("the client key cannot be read: check KAFKA_BEAT_SSL_KEYFILE",),
    ),
    "TLS to a plaintext port": Refusal(
        # As the issue found it: SASL_SSL with SCRAM-SHA-512 pointed at a plaintext listener.
        "SCRAM-SHA-512",
        lambda b: {"bootstrap_servers": b.plaintext_bootstrap},
        ("TLS failed: the port does not speak TLS; check KAFKA_BEAT_SECURITY_PROTOCOL",),
    ),
    "plaintext to a TLS port": Refusal(
        "PLAIN",
        lambda b: {**PLAINTEXT, "bootstrap_servers": b.sasl_ssl_bootstrap},
        ("the port speaks TLS: set KAFKA_BEAT_SECURITY_PROTOCOL=SSL or SASL_SSL",),
    ),
    "plaintext to an mTLS port": Refusal(
        "mTLS",
        lambda b: {**PLAINTEXT, "ssl_certfile": None, "ssl_keyfile": None},
        ("the port speaks TLS: set KAFKA_BEAT_SECURITY_PROTOCOL=SSL or SASL_SSL",),
    ),
}
# A refusal ends the run (and `check`) this soon, with the default 30 s Kafka timeout, which
# kafka-python alone would spend retrying it. Measured around the whole process.
PROMPT_SECONDS = 5.0


def _command(name: str) -> list[str]:
    return [] if name == "run" else [name]


# confluent: every refusal through a run; through `check` (the same start, another printer)
# one of each kind: SASL, the token command, TLS trust, and a plaintext client on a TLS port.
CONFLUENT_CHECKS = (
    "wrong password (PLAIN)",
    "token command fails (OAUTHBEARER)",
    "untrusted CA",
    "plaintext to a TLS port",
)


@pytest.mark.parametrize(
    ("case", "command", "kafka_client"),
    [(case, command, "kafka-python") for case in REFUSALS for command in ("run", "check")]
    + [(case, "run", "confluent") for case in REFUSALS]
    + [(case, "check", "confluent") for case in CONFLUENT_CHECKS],
)
def test_refusals_say_what_to_change(
    case, command, kafka_client, secure_broker, granted, tmp_path
) -> None:
    secure_broker.produce(granted.topic, [b"x"])
    refusal = REFUSALS[case]
    settings = {
        "kafka_client": kafka_client,
        "group_id": granted.group,
        "topics": granted.topic,
        **secured(secure_broker, refusal.how, tmp_path),
        **refusal.changes(secure_broker),
    }

    started = time.monotonic()
    result = cli(tmp_path, *_command(command), kafka_timeout_seconds=30, **settings)
    seconds = time.monotonic() - started

    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    if command == "run":
        said = result.stderr.strip().splitlines()[-1]
        assert said.startswith("kafka-beat: "), said
    else:
        said = next(line for line in result.stdout.splitlines() if " brokers " in line)
        assert said.startswith("FAIL  brokers "), result.stdout
        assert result.stdout.count("\nSKIP ") == 3, result.stdout
    assert any(fix in said for fix in refusal.says), said
    assert seconds < PROMPT_SECONDS, f"{case}: {command} took {seconds:.1f} s: {said}"
    assert nothing_moved(secure_broker, granted.group, tmp_path)


# How each client says a connection was refused.
CONNECTION_REFUSED = {"kafka-python": "ECONNREFUSED", "confluent": "Connection refused"}


@over_clients
@pytest.mark.parametrize("command", ["run", "check"])
def test_unreachable_broker_is_retried_until_the_timeout(command, kafka_client, tmp_path) -> None:
    settings = {
        "bootstrap_servers": f"{HOST}:{free_port()}",
        "group_id": "g",
        "topics": "t",
        "kafka_client": kafka_client,
    }

    started = time.monotonic()
    result = cli(tmp_path, *_command(command), kafka_timeout_seconds=5, **settings)
    seconds = time.monotonic() - started

    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    output = result.stderr if command == "run" else result.stdout
    said = next(line for line in output.splitlines() if "no Kafka broker answered" in line)
    assert "unreachable, tried for " in said and CONNECTION_REFUSED[kafka_client] in said, said
    tried = re.search(r"tried for (\d+) s \(KAFKA_BEAT_KAFKA_TIMEOUT_SECONDS\)", said)
    assert tried is not None and 5 <= int(tried.group(1)) <= 6, said
    assert seconds >= 5.0  # the whole timeout, not a refusal's second


def test_a_refusing_server_beside_one_that_answers_does_not_end_the_start(
    secure_broker, granted, tmp_path, caplog
) -> None:
    """A bootstrap server that refuses (here: TLS to its plaintext port) is not final while
    another may answer: every start succeeds, also those that tried the bad one first."""
    settings = Settings(
        group_id=granted.group,
        topics=(granted.topic,),
        destination=str(tmp_path / "out"),
        kafka_timeout_seconds=10,
        **{
            **secured(secure_broker, "PLAIN", tmp_path),
            "bootstrap_servers": (
                f"{secure_broker.plaintext_bootstrap},{secure_broker.sasl_ssl_bootstrap}"
            ),
        },
    )
    caplog.set_level(logging.WARNING, logger="kafka")

    def refused() -> int:
        return sum(
            message.startswith("Bootstrap connection to") and "UNEXPECTED_EOF" in message
            for message in caplog.messages
        )

    starts = 0
    # kafka-python picks a random bootstrap server per attempt: start until the bad one was
    # tried a few times (a start that picked the good one at once proves nothing here).
    while starts < 40 and refused() < 4:
        open_source(settings).close()
        starts += 1
    assert refused() >= 4, f"the refusing server was tried {refused()} times in {starts} starts"


def test_a_refusing_server_beside_one_that_answers_does_not_end_the_start_confluent(
    secure_broker, granted, tmp_path, caplog
) -> None:
    """The same with librdkafka, which says why each connection failed in its log lines."""
    settings = Settings(
        kafka_client="confluent",
        group_id=granted.group,
        topics=(granted.topic,),
        destination=str(tmp_path / "out"),
        kafka_timeout_seconds=10,
        **{
            **secured(secure_broker, "PLAIN", tmp_path),
            "bootstrap_servers": (
                f"{secure_broker.plaintext_bootstrap},{secure_broker.sasl_ssl_bootstrap}"
            ),
        },
    )
    caplog.set_level(logging.INFO, logger="kafka_beat.librdkafka")

    def refused() -> int:
        return sum("connecting to a PLAINTEXT broker listener" in m for m in caplog.messages)

    starts = 0
    while starts < 40 and refused() < 4:
        open_source(settings).close()
        starts += 1
    assert refused() >= 4, f"the refusing server was tried {refused()} times in {starts} starts"


@over_clients
def test_missing_group_acl(kafka_client, secure_broker, tmp_path) -> None:
    topic = secure_broker.create_topic()
    group = unique("no-acl-group")
    secure_broker.grant(
        f"User:{secure_broker.user}",
        ResourceType.TOPIC,
        topic,
        [ACLOperation.READ, ACLOperation.DESCRIBE],
    )
    secure_broker.produce(topic, [b"x"])
    result = cli(
        tmp_path,
        group_id=group,
        topics=topic,
        kafka_client=kafka_client,
        **secured(secure_broker, "PLAIN", tmp_path),
    )
    assert result.returncode == 3
    assert (
        f"not authorized for group '{group}': grant READ on the group"
        in result.stderr + result.stdout
    )
    assert nothing_moved(secure_broker, group, tmp_path)


@over_clients
def test_missing_topic_read_acl(kafka_client, secure_broker, tmp_path) -> None:
    topic = secure_broker.create_topic()
    group = unique("group")
    secure_broker.grant(
        f"User:{secure_broker.user}", ResourceType.TOPIC, topic, [ACLOperation.DESCRIBE]
    )
    secure_broker.grant(
        f"User:{secure_broker.user}", ResourceType.GROUP, group, [ACLOperation.READ]
    )
    secure_broker.produce(topic, [b"x"])
    result = cli(
        tmp_path,
        group_id=group,
        topics=topic,
        kafka_client=kafka_client,
        **secured(secure_broker, "PLAIN", tmp_path),
    )
    assert result.returncode == 3
    assert "not authorized to read a topic" in result.stderr + result.stdout
    assert nothing_moved(secure_broker, group, tmp_path)


@over_clients
def test_topic_invisible_without_describe(kafka_client, secure_broker, tmp_path) -> None:
    topic = secure_broker.create_topic()
    group = unique("group")
    secure_broker.grant(
        f"User:{secure_broker.user}", ResourceType.GROUP, group, [ACLOperation.READ]
    )
    result = cli(
        tmp_path,
        group_id=group,
        topics=topic,
        kafka_client=kafka_client,
        **secured(secure_broker, "PLAIN", tmp_path),
    )
    assert result.returncode == 1
    assert "may not DESCRIBE them" in result.stderr
    assert nothing_moved(secure_broker, group, tmp_path)


@over_clients
def test_hostname_check_off_is_warned_every_run(
    kafka_client, secure_broker, granted, tmp_path
) -> None:
    secure_broker.produce(granted.topic, [b"x"])
    settings = {
        "kafka_client": kafka_client,
        **secured(secure_broker, "PLAIN", tmp_path),
        "group_id": granted.group,
        "topics": granted.topic,
        "bootstrap_servers": secure_broker.wrong_host_bootstrap,
        "ssl_check_hostname": "false",
    }
    result = cli(tmp_path, **settings)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TLS hostname verification is OFF" in result.stderr
