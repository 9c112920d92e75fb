"""Kafka Beat against the secured broker: every mechanism that can run here collects, and every
refusal ends fast with exit 3 (or the named failure), one line saying what to change, nothing
stored and no offset moved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kafka.admin import ACLOperation, ResourceType

from handler.config.settings import Settings
from handler.engine.collector import run
from tests.support import runs
from tests.support.fixtures import unique
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
        script = tmp_path / "token.py"
        script.write_text(f"print({unsecured_jwt(broker.user)!r})\n")
        values["sasl_oauth_token_command"] = f"{sys.executable} {script}"
    else:
        values["sasl_username"] = broker.user
        values["sasl_password"] = broker.password
    return values


@pytest.mark.parametrize("how", MECHANISMS)
def test_collects_with_each_mechanism(how, secure_broker, granted, tmp_path) -> None:
    secure_broker.produce(granted.topic, [b'{"n": %d}' % n for n in range(5)])
    settings = Settings(
        group_id=granted.group,
        topics=(granted.topic,),
        destination=str(tmp_path / "out"),
        kafka_timeout_seconds=10,
        **secured(secure_broker, how, tmp_path),
    )

    report = run(settings)

    assert report.status == "ok", report.errors
    assert report.records == 5
    offsets = secure_broker.admin.list_group_offsets({granted.group: None})[granted.group]
    assert [meta.offset for meta in offsets.values()] == [5]


def cli(tmp_path: Path, **settings: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "handler"],
        env=runs.environment(kafka_timeout_seconds=5, destination=tmp_path / "out", **settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert SecureBroker.secret not in result.stdout + result.stderr
    return result


def nothing_moved(broker: SecureBroker, group: str, tmp_path: Path) -> bool:
    offsets = broker.admin.list_group_offsets({group: None})[group]
    stored = (
        [p for p in (tmp_path / "out").rglob("*.jsonl*")] if (tmp_path / "out").exists() else []
    )
    return not offsets and not stored


FAILURES = {
    "wrong password": ({"sasl_password": "not-the-password"}, 3, "credentials"),
    "unknown user": (
        {"sasl_username": "nobody", "sasl_mechanism": "SCRAM-SHA-512"},
        3,
        "credentials",
    ),
    "untrusted CA": ({"ssl_cafile": "other_ca_file"}, 3, "not signed by a trusted CA"),
    "hostname mismatch": ({"bootstrap_servers": "wrong_host"}, 3, "does not name the host"),
    "TLS to a plaintext port": ({"bootstrap_servers": "plaintext"}, 3, "does not speak TLS"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_refusals_say_what_to_change(case, secure_broker, granted, tmp_path) -> None:
    secure_broker.produce(granted.topic, [b"x"])
    changes, code, says = FAILURES[case]
    settings = {
        "group_id": granted.group,
        "topics": granted.topic,
        **secured(secure_broker, "PLAIN", tmp_path),
    }
    places = {
        "other_ca_file": secure_broker.certificates.other_ca_file,
        "wrong_host": secure_broker.wrong_host_bootstrap,
        "plaintext": secure_broker.plaintext_bootstrap,
    }
    for name, value in changes.items():
        settings[name] = places.get(str(value), value)

    result = cli(tmp_path, **settings)

    assert result.returncode == code, result.stderr[-2000:]
    assert says in result.stderr
    assert nothing_moved(secure_broker, granted.group, tmp_path)


def test_expired_client_certificate(secure_broker, granted, tmp_path) -> None:
    certs = secure_broker.certificates
    settings = {
        **secured(secure_broker, "mTLS", tmp_path),
        "group_id": granted.group,
        "topics": granted.topic,
        "ssl_certfile": certs.expired_client_cert_file,
        "ssl_keyfile": certs.expired_client_key_file,
    }
    result = cli(tmp_path, **settings)
    assert result.returncode == 3 and "refused the client certificate" in result.stderr
    assert nothing_moved(secure_broker, granted.group, tmp_path)


def test_missing_group_acl(secure_broker, tmp_path) -> None:
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
        tmp_path, group_id=group, topics=topic, **secured(secure_broker, "PLAIN", tmp_path)
    )
    assert result.returncode == 3
    assert (
        f"not authorized for group '{group}': grant READ on the group"
        in result.stderr + result.stdout
    )
    assert nothing_moved(secure_broker, group, tmp_path)


def test_missing_topic_read_acl(secure_broker, tmp_path) -> None:
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
        tmp_path, group_id=group, topics=topic, **secured(secure_broker, "PLAIN", tmp_path)
    )
    assert result.returncode == 3
    assert "not authorized to read a topic" in result.stderr + result.stdout
    assert nothing_moved(secure_broker, group, tmp_path)


def test_topic_invisible_without_describe(secure_broker, tmp_path) -> None:
    topic = secure_broker.create_topic()
    group = unique("group")
    secure_broker.grant(
        f"User:{secure_broker.user}", ResourceType.GROUP, group, [ACLOperation.READ]
    )
    result = cli(
        tmp_path, group_id=group, topics=topic, **secured(secure_broker, "PLAIN", tmp_path)
    )
    assert result.returncode == 1
    assert "may not DESCRIBE them" in result.stderr
    assert nothing_moved(secure_broker, group, tmp_path)


def test_hostname_check_off_is_warned_every_run(secure_broker, granted, tmp_path) -> None:
    secure_broker.produce(granted.topic, [b"x"])
    settings = {
        **secured(secure_broker, "PLAIN", tmp_path),
        "group_id": granted.group,
        "topics": granted.topic,
        "bootstrap_servers": secure_broker.wrong_host_bootstrap,
        "ssl_check_hostname": "false",
    }
    result = cli(tmp_path, **settings)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TLS hostname verification is OFF" in result.stderr
