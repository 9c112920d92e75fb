"""The one exception hierarchy of Kafka Beat.

Every error a user can act on is a `KafkaBeatError` whose message says what failed and what to
change. `TransientError` marks what may succeed on retry; tenacity retries that and nothing else.
"""

from __future__ import annotations

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_SIGNAL_BASE = 128
"""A run stopped by signal N (SIGTERM, SIGINT) exits 128 + N, as the shells report a process a
signal ended: 143 for SIGTERM, 130 for SIGINT (see `engine/stopping.py`)."""


class KafkaBeatError(Exception):
    """Root of every error Kafka Beat raises on purpose."""

    exit_code = EXIT_RUN_FAILED


class ConfigError(KafkaBeatError):
    """A setting or flag is wrong; raised before anything touches Kafka."""

    exit_code = EXIT_USAGE


class TransientError(KafkaBeatError):
    """May succeed if tried again: throttling, 5xx, timeouts, dropped connections."""


class RegistryUnavailable(TransientError):
    """The Schema Registry could not be reached or failed, after its client's retries: the
    partition whose record needed it fails there; the others go on."""


def retrying(attempts: int, max_backoff_seconds: float) -> Retrying:
    """The one retry policy: `TransientError` only, at most `attempts` tries, jittered
    exponential waits capped at `max_backoff_seconds`; the last error is raised as itself."""
    return Retrying(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.2, max=max_backoff_seconds),
        reraise=True,
    )


class StoreError(KafkaBeatError):
    """The destination refused an operation for a reason a retry will not fix."""


class ChainError(KafkaBeatError):
    """An object at a chain position cannot be trusted; the run stops rather than skip it."""


class SourceError(KafkaBeatError):
    """Kafka refused or failed an operation for a reason a retry will not fix."""


class AuthError(KafkaBeatError):
    """Kafka or AWS refused who we are (authentication) or what we asked (authorization);
    a retry will not help until credentials, certificates or ACLs change."""

    exit_code = EXIT_AUTH
