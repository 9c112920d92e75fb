"""A secured single-node Kafka broker for the security tests: TLS, mTLS, SASL and ACLs.

It reuses ``scripts/kafka_broker.py`` (same jars, same lifecycle) and only adds listeners and
security settings on top, so the plain integration broker stays untouched.

Listeners (all on 127.0.0.1, free ports):

- ``PLAINTEXT``: no authentication; its principal ``User:ANONYMOUS`` is a super user so the
  harness can create topics, users and ACLs. Also the target of the "TLS to a plaintext port"
  case. Never expose such a listener outside a test.
- ``SASL_SSL``: server cert for ``localhost`` and ``127.0.0.1`` signed by the test CA;
  mechanisms PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (unsecured JWTs).
- ``SSL``: mutual TLS; a client cert with ``CN=kafkabeat`` maps to ``User:kafkabeat``.
- ``WRONGHOST``: SASL_SSL with PLAIN whose cert names only ``wrong.example``, for the
  hostname-mismatch case (the client connects to 127.0.0.1, which that cert does not name).
- ``CONTROLLER``: KRaft, plaintext, as in the plain broker.

Every authenticated way in yields the same principal for the same user name, so one ACL grant
for ``User:kafkabeat`` covers all mechanisms and mTLS.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from kafka.net.sasl.oauth import AbstractTokenProvider
from kafka.producer import KafkaProducer

from scripts.kafka_broker import HOST, KafkaBroker, KafkaBrokerError, free_port, port_in_use
from tests.support.fixtures import unique

USER = "kafkabeat"
# Distinctive so a test can grep logs, reports and exceptions for a leaked secret.
PASSWORD = "Kb-S3cr3t-7f3a9c"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "Adm1n-S3cr3t-2d8e41"
# Protects the client's encrypted key and the broker's PKCS#12 keystores.
KEY_PASSWORD = "Kb-K3y-Pa55-b61e07"

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")

_PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
_OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
# Accepts any well-formed JWT with "alg":"none" and an empty signature: for tests only.
UNSECURED_VALIDATOR = (
    "org.apache.kafka.common.security.oauthbearer.internals.unsecured."
    "OAuthBearerUnsecuredValidatorCallbackHandler"
)
_STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"

# --------------------------------------------------------------------------------------------
# Certificates


@dataclass(frozen=True)
class CertificateSet:
    """PEM files for the broker and for Python clients; all made fresh for one session."""

    directory: Path
    ca_file: Path
    """The test CA's certificate: the ``ssl_cafile`` clients trust."""
    other_ca_file: Path
    """An unrelated CA: trusting only this one makes the broker's cert untrusted."""
    server_keystore: Path
    """Broker PKCS#12 keystore (key + chain), SAN ``localhost`` and ``127.0.0.1``."""
    wrong_host_keystore: Path
    """Broker PKCS#12 keystore whose cert names only ``wrong.example``."""
    keystore_password: str
    client_cert_file: Path
    """``CN=kafkabeat``, signed by the test CA, clientAuth."""
    client_key_file: Path
    """The client's key, unencrypted PKCS#8."""
    client_key_encrypted_file: Path
    """The same key encrypted with ``client_key_password``."""
    client_key_password: str
    expired_client_cert_file: Path
    expired_client_key_file: Path
    untrusted_client_cert_file: Path
    """``CN=kafkabeat`` but signed by the unrelated CA."""
    untrusted_client_key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kafka Beat tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> rsa.RSAPrivateKey:
    # RSA rather than EC: the most common choice in real deployments, so the paths tested here
    # are the ones users hit.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey


def _ca(common_name: str, now: dt.datetime) -> _Issued:
    key = _key()
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Issued(cert, key)


def _leaf(
    issuer: _Issued,
    common_name: str,
    *,
    server: bool,
    validity: tuple[dt.datetime, dt.datetime],
    dns_names: Iterable[str] = (),
    ips: Iterable[str] = (),
) -> _Issued:
    key = _key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return _Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def _cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _key_pem(key: rsa.RSAPrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _keystore(leaf: _Issued, ca: _Issued, password: str) -> bytes:
    # PKCS#12, not a PEM keystore file: Kafka reads an encrypted PEM key only with the legacy
    # PBES1 ciphers, which cryptography does not write, and a file-based PEM keystore must be
    # encrypted. Java 17 reads cryptography's AES-256 PKCS#12.
    return pkcs12.serialize_key_and_certificates(
        b"broker",
        leaf.key,
        leaf.cert,
        [ca.cert],
        serialization.BestAvailableEncryption(password.encode()),
    )


def make_certificates(directory: Path) -> CertificateSet:
    """A test CA, an unrelated CA, broker keystores and client certs, as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    valid = (now - dt.timedelta(hours=1), now + dt.timedelta(days=7))
    expired = (now - dt.timedelta(days=10), now - dt.timedelta(days=1))
    ca = _ca("Kafka Beat Test CA", now)
    other_ca = _ca("Unrelated Test CA", now)
    server = _leaf(
        ca, "localhost", server=True, dns_names=["localhost"], ips=[HOST], validity=valid
    )
    wrong = _leaf(ca, "wrong.example", server=True, dns_names=["wrong.example"], validity=valid)
    client = _leaf(ca, USER, server=False, validity=valid)
    expired_client = _leaf(ca, USER, server=False, validity=expired)
    untrusted = _leaf(other_ca, USER, server=False, validity=valid)

    def write(name: str, data: bytes) -> Path:
        path = directory / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    return CertificateSet(
        directory=directory,
        ca_file=write("ca.pem", _cert_pem(ca.cert)),
        other_ca_file=write("other-ca.pem", _cert_pem(other_ca.cert)),
        server_keystore=write("server.p12", _keystore(server, ca, KEY_PASSWORD)),
        wrong_host_keystore=write("wrong-host.p12", _keystore(wrong, ca, KEY_PASSWORD)),
        keystore_password=KEY_PASSWORD,
        client_cert_file=write("client.pem", _cert_pem(client.cert)),
        client_key_file=write("client.key", _key_pem(client.key)),
        client_key_encrypted_file=write("client-encrypted.key", _key_pem(client.key, KEY_PASSWORD)),
        client_key_password=KEY_PASSWORD,
        expired_client_cert_file=write("expired-client.pem", _cert_pem(expired_client.cert)),
        expired_client_key_file=write("expired-client.key", _key_pem(expired_client.key)),
        untrusted_client_cert_file=write("untrusted-client.pem", _cert_pem(untrusted.cert)),
        untrusted_client_key_file=write("untrusted-client.key", _key_pem(untrusted.key)),
    )


# --------------------------------------------------------------------------------------------
# OAUTHBEARER


def unsecured_jwt(
    subject: str = USER,
    *,
    lifetime_seconds: float = 3600.0,
    scope: str = "kafka",
    issued_at: float | None = None,
) -> str:
    """A JWT the broker's unsecured validator accepts: ``alg`` ``none``, empty signature, and
    the ``sub`` (principal) and ``exp`` claims it requires; ``iat`` and ``scope`` are optional
    but checked when present. A negative lifetime makes an expired token."""

    def part(value: Mapping[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    iat = time.time() if issued_at is None else issued_at
    if lifetime_seconds < 0:
        # The validator also rejects iat after exp, which would mask the expiry under test.
        iat += lifetime_seconds - 60
    claims: dict[str, str | int] = {
        "sub": subject,
        "iat": int(iat),
        "exp": int(time.time() + lifetime_seconds),
    }
    if scope:
        claims["scope"] = scope
    return f"{part({'alg': 'none'})}.{part(claims)}."


class StaticTokenProvider(AbstractTokenProvider):  # type: ignore[misc]
    """kafka-python checks ``isinstance(provider, AbstractTokenProvider)``: duck typing with a
    ``token()`` method alone is refused at connection time."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def token(self) -> str:
        return self._token


# --------------------------------------------------------------------------------------------
# The broker


def _jaas(module: str, **options: str) -> str:
    pairs = "".join(f' {key}="{value}"' for key, value in options.items())
    return f"{module} required{pairs};"


class SecureKafkaBroker(KafkaBroker):
    """``KafkaBroker`` with the extra listeners and the security settings described above.

    ``self.port`` stays the PLAINTEXT port, which is what the base class probes for readiness.
    """

    def __init__(
        self,
        certificates: CertificateSet,
        data_dir: Path | None = None,
        plain_users: Mapping[str, str] | None = None,
        extra_properties: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(data_dir=data_dir, extra_properties=extra_properties)
        self.certificates = certificates
        self.plain_users = dict(plain_users or {USER: PASSWORD, ADMIN_USER: ADMIN_PASSWORD})
        self.sasl_ssl_port = self._unused_port()
        self.ssl_port = self._unused_port()
        self.wrong_host_port = self._unused_port()

    def _ports(self) -> list[int]:
        return [
            getattr(self, name, 0)
            for name in ("port", "controller_port", "sasl_ssl_port", "ssl_port", "wrong_host_port")
        ]

    def _unused_port(self) -> int:
        while True:
            port = free_port()
            if port not in self._ports():
                return port

    @property
    def sasl_ssl_bootstrap(self) -> str:
        return f"{HOST}:{self.sasl_ssl_port}"

    @property
    def ssl_bootstrap(self) -> str:
        return f"{HOST}:{self.ssl_port}"

    @property
    def wrong_host_bootstrap(self) -> str:
        return f"{HOST}:{self.wrong_host_port}"

    def properties(self) -> dict[str, str]:
        props = super().properties()
        certs = self.certificates
        listeners = {
            "PLAINTEXT": self.port,
            "SASL_SSL": self.sasl_ssl_port,
            "SSL": self.ssl_port,
            "WRONGHOST": self.wrong_host_port,
        }
        advertised = ",".join(f"{name}://{HOST}:{port}" for name, port in listeners.items())
        plain_jaas = _jaas(
            _PLAIN_MODULE,
            **{f"user_{name}": password for name, password in self.plain_users.items()},
        )
        secured = {
            "listeners": f"{advertised},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": advertised,
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,"
                "WRONGHOST:SASL_SSL"
            ),
            # TLS for every TLS listener unless a listener overrides it.
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(certs.server_keystore),
            "ssl.keystore.password": certs.keystore_password,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(certs.ca_file),
            # "CN=kafkabeat,O=..." -> "kafkabeat", the same principal SASL gives that user.
            "ssl.principal.mapping.rules": "RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT",
            "listener.name.ssl.ssl.client.auth": "required",
            "listener.name.wronghost.ssl.keystore.location": str(certs.wrong_host_keystore),
            # SASL on SASL_SSL: PLAIN users live in the JAAS config, SCRAM users in the
            # metadata log (added through the admin API after start).
            "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
            "listener.name.sasl_ssl.plain.sasl.jaas.config": plain_jaas,
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": _jaas(_SCRAM_MODULE),
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": _jaas(_SCRAM_MODULE),
            "listener.name.sasl_ssl.oauthbearer.sasl.jaas.config": _jaas(_OAUTH_MODULE),
            "listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class": (
                UNSECURED_VALIDATOR
            ),
            "listener.name.wronghost.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.wronghost.plain.sasl.jaas.config": plain_jaas,
            # Authorization: deny unless an ACL allows. ANONYMOUS is PLAINTEXT's (and the
            # controller's and inter-broker) principal; admin is the SASL administrator.
            "authorizer.class.name": _STANDARD_AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:ANONYMOUS;User:{ADMIN_USER}",
        }
        props.update(secured)
        props.update(self.extra_properties)
        return props

    def _start_once(self) -> None:
        # The base class retries with new ports only for its own two; check ours first so a
        # taken port means new ports here rather than a JVM that fails to bind.
        if self._auto_ports:
            for name in ("sasl_ssl_port", "ssl_port", "wrong_host_port"):
                if port_in_use(getattr(self, name)):
                    setattr(self, name, self._unused_port())
        super()._start_once()


# --------------------------------------------------------------------------------------------
# What the fixture yields


@dataclass(frozen=True)
class Grant:
    """What ``SecureBroker.grant_consumer`` allowed, so a test can see or revoke it."""

    principal: str
    topic: str
    group: str | None
    acls: tuple[ACL, ...]


class SecureBroker:
    """The secured broker plus an admin client on its PLAINTEXT listener."""

    user = USER
    password = PASSWORD
    secret = PASSWORD
    """The distinctive password: it must never show up in logs, reports or exception text."""
    admin_user = ADMIN_USER
    admin_password = ADMIN_PASSWORD
    sasl_mechanisms = SASL_MECHANISMS

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.certificates = make_certificates(directory / "certs")
        self.broker = SecureKafkaBroker(self.certificates, data_dir=directory / "kafka")
        self._admin: KafkaAdminClient | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SecureBroker:
        self.broker.start()
        self._admin = KafkaAdminClient(
            bootstrap_servers=self.plaintext_bootstrap, request_timeout_ms=10000
        )
        self.add_scram_user(USER, PASSWORD)
        self.add_scram_user(ADMIN_USER, ADMIN_PASSWORD)
        return self

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        self.broker.close()

    def __enter__(self) -> SecureBroker:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def admin(self) -> KafkaAdminClient:
        if self._admin is None:
            raise KafkaBrokerError("the secure broker is not started")
        return self._admin

    # -- addresses ----------------------------------------------------------------------------

    @property
    def plaintext_bootstrap(self) -> str:
        return self.broker.bootstrap

    @property
    def sasl_ssl_bootstrap(self) -> str:
        return self.broker.sasl_ssl_bootstrap

    @property
    def ssl_bootstrap(self) -> str:
        return self.broker.ssl_bootstrap

    @property
    def wrong_host_bootstrap(self) -> str:
        return self.broker.wrong_host_bootstrap

    @property
    def log_file(self) -> Path:
        return self.broker.log_file

    # -- client settings ----------------------------------------------------------------------

    def sasl_config(
        self,
        mechanism: str = "PLAIN",
        username: str = USER,
        password: str = PASSWORD,
        token: str | None = None,
    ) -> dict[str, Any]:
        """kafka-python kwargs for the SASL_SSL listener with one mechanism."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.sasl_ssl_bootstrap,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": mechanism,
            "ssl_cafile": str(self.certificates.ca_file),
        }
        if mechanism == "OAUTHBEARER":
            config["sasl_oauth_token_provider"] = StaticTokenProvider(
                token if token is not None else unsecured_jwt(username)
            )
        else:
            config["sasl_plain_username"] = username
            config["sasl_plain_password"] = password
        return config

    def mtls_config(self, encrypted_key: bool = False) -> dict[str, Any]:
        """kafka-python kwargs for the SSL listener with the valid client cert."""
        certs = self.certificates
        config: dict[str, Any] = {
            "bootstrap_servers": self.ssl_bootstrap,
            "security_protocol": "SSL",
            "ssl_cafile": str(certs.ca_file),
            "ssl_certfile": str(certs.client_cert_file),
            "ssl_keyfile": str(certs.client_key_file),
        }
        if encrypted_key:
            config["ssl_keyfile"] = str(certs.client_key_encrypted_file)
            config["ssl_password"] = certs.client_key_password
        return config

    # -- topics, records, users and ACLs (all through PLAINTEXT, as a super user) -------------

    def create_topic(self, name: str | None = None, partitions: int = 1) -> str:
        name = name or unique("secure-topic")
        self.admin.create_topics(
            {name: {"num_partitions": partitions, "replication_factor": 1}},
            wait_for_metadata=True,
        )
        return name

    def produce(self, topic: str, values: Iterable[bytes], partition: int | None = None) -> None:
        producer = KafkaProducer(bootstrap_servers=self.plaintext_bootstrap)
        try:
            for value in values:
                producer.send(topic, value=value, partition=partition)
            producer.flush(timeout=15)
        finally:
            producer.close(timeout=5)

    def add_scram_user(self, user: str, password: str, timeout: float = 15.0) -> None:
        """Credentials for both SCRAM mechanisms, waiting until the broker can use them."""
        mechanisms = [ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512]
        for mechanism in mechanisms:
            # One request per mechanism: the broker refuses to alter a user twice in one request.
            errors = self.admin.alter_user_scram_credentials(
                [UserScramCredentialUpsertion(user, mechanism, password)]
            )
            if any(errors.values()):
                raise KafkaBrokerError(f"adding {mechanism.name} for {user} failed: {errors}")
        deadline = time.monotonic() + timeout
        while True:
            described = self.admin.describe_user_scram_credentials([user]).get(user) or {}
            infos = described.get("credential_infos") or []
            if {info["mechanism"] for info in infos} >= set(mechanisms):
                return
            if time.monotonic() > deadline:
                raise KafkaBrokerError(f"SCRAM credentials for {user} not visible: {described}")
            time.sleep(0.1)

    def grant(
        self,
        principal: str,
        resource_type: ResourceType,
        name: str,
        operations: Iterable[ACLOperation],
        timeout: float = 15.0,
    ) -> tuple[ACL, ...]:
        """ALLOW ``operations`` on one literal resource, waiting until the authorizer has it."""
        pattern = ResourcePattern(resource_type, name, ACLResourcePatternType.LITERAL)
        acls = tuple(
            ACL(principal, "*", operation, ACLPermissionType.ALLOW, pattern)
            for operation in operations
        )
        result = self.admin.create_acls(list(acls))
        if result.get("failed"):
            raise KafkaBrokerError(f"creating ACLs failed: {result['failed']}")
        self._wait_for_acls(principal, pattern, len(acls), timeout)
        return acls

    def grant_consumer(
        self, topic: str, group: str | None = None, principal: str = f"User:{USER}"
    ) -> Grant:
        """What a consumer needs: READ and DESCRIBE on the topic, READ on the group."""
        acls = self.grant(
            principal, ResourceType.TOPIC, topic, [ACLOperation.READ, ACLOperation.DESCRIBE]
        )
        if group is not None:
            acls += self.grant(principal, ResourceType.GROUP, group, [ACLOperation.READ])
        return Grant(principal, topic, group, acls)

    def revoke(self, grant: Grant) -> None:
        filters = [
            ACLFilter(
                acl.principal,
                acl.host,
                acl.operation,
                acl.permission_type,
                ResourcePatternFilter(
                    acl.resource_pattern.resource_type,
                    acl.resource_pattern.resource_name,
                    acl.resource_pattern.pattern_type,
                ),
            )
            for acl in grant.acls
        ]
        self.admin.delete_acls(filters)

    def _wait_for_acls(
        self, principal: str, pattern: ResourcePattern, count: int, timeout: float
    ) -> None:
        # create_acls returns once the controller accepted them; the broker's authorizer
        # applies them from the metadata log a moment later, and describe_acls reads it.
        query = ACLFilter(
            principal,
            "*",
            ACLOperation.ANY,
            ACLPermissionType.ANY,
            ResourcePatternFilter(
                pattern.resource_type, pattern.resource_name, pattern.pattern_type
            ),
        )
        deadline = time.monotonic() + timeout
        while True:
            found, _error = self.admin.describe_acls(query)
            if len(found) >= count:
                return
            if time.monotonic() > deadline:
                raise KafkaBrokerError(f"ACLs for {principal} on {pattern} not visible: {found}")
            time.sleep(0.1)
