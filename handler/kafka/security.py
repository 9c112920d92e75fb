"""What both clients' TLS and SASL mappings share (`kafka_python/options.py`,
`confluent/options.py`): the warning a weakened TLS check earns at every run, and the messages
for a refused identity or permission, so both clients name the same fix."""

from __future__ import annotations

from handler.config.settings import Settings
from handler.errors import AuthError
from handler.observe.logs import get_logger

log = get_logger()


def warn_if_hostname_unchecked(settings: Settings) -> None:
    if settings.security_protocol in ("SSL", "SASL_SSL") and not settings.ssl_check_hostname:
        log.warning(
            "TLS hostname verification is OFF (KAFKA_BEAT_SSL_CHECK_HOSTNAME=false): a "
            "broker certificate for any name is accepted"
        )


def credentials_refused(settings: Settings) -> AuthError:
    who = settings.sasl_username or "the configured identity"
    return AuthError(
        f"the brokers refused to authenticate {who} with {settings.sasl_mechanism}: check "
        "KAFKA_BEAT_SASL_USERNAME and KAFKA_BEAT_SASL_PASSWORD (or the token)"
    )


def topic_refused(detail: object) -> AuthError:
    return AuthError(
        f"not authorized to read a topic ({detail}): grant READ and DESCRIBE on the topics to "
        "this principal"
    )


def group_refused(settings: Settings) -> AuthError:
    return AuthError(
        f"not authorized for group '{settings.group_id}': grant READ on the group to this principal"
    )


def acl_refused(detail: object) -> AuthError:
    return AuthError(f"not authorized: {detail}; grant the missing ACL to this principal")
