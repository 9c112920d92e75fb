"""What the cloud stores share and that imports no cloud library: TLS to the endpoint, and a
download kept aside so that the whole GET runs under the retry policy."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar
from urllib.parse import urlparse

from handler.errors import ConfigError, KafkaBeatError, retrying

T = TypeVar("T")

# A download up to this size stays in memory; a larger one spills to a temporary file.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024


def is_local_http(url: str) -> bool:
    """Plain HTTP to this machine (a local test server or emulator)."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    return parsed.scheme == "http" and (host in ("localhost", "::1") or host.startswith("127."))


def require_tls(variable: str, url: str | None) -> None:
    """TLS to a store always; plain HTTP only to a store on this machine."""
    if url is None or url.startswith("https://") or is_local_http(url):
        return
    raise ConfigError(
        f"{variable} {url!r} is not HTTPS: objects would cross the network unencrypted; "
        "use an https:// endpoint"
    )


Answer = tuple[Callable[[Any], bool], T]
"""A refusal that answers the question rather than fails it (the name is taken, nothing is
there): how to recognise it, and the answer it stands for."""


@dataclass(frozen=True)
class StoreCalls:
    """The requests of one cloud store: each under the one retry policy, with the cloud
    library's errors turned into ours once."""

    errors: tuple[type[Exception], ...]
    """What the cloud library raises."""
    refusal: type[Exception]
    """Its error for a request the store answered with a refusal (a status, a code)."""
    translate: Callable[[Any, str, str], KafkaBeatError]
    """(error, action, key) to ours: refused, transient (retried) or final."""
    attempts: int
    max_backoff_seconds: float = 10.0

    def run(
        self, action: str, key: str, call: Callable[[], T], expected: Answer[T] | None = None
    ) -> T:
        """`call`, one request to `key` (its name `action`, for messages)."""

        def attempt() -> T:
            with self.translating(action, key):
                try:
                    return call()
                except self.refusal as exc:
                    if expected is None or not expected[0](exc):
                        raise
                    return expected[1]

        return retrying(self.attempts, self.max_backoff_seconds)(attempt)

    @contextlib.contextmanager
    def translating(self, action: str, key: str) -> Iterator[None]:
        """The library's errors inside, as ours (for a listing's generator, which no retry
        can restart)."""
        try:
            yield
        except KafkaBeatError:
            raise
        except self.errors as exc:
            raise self.translate(exc, action, key) from exc


def downloaded(download: Callable[[IO[bytes]], object]) -> IO[bytes]:
    """A file `download` wrote an object into, rewound: in memory while small, on disk beyond
    (closed if the download fails, so a retry starts afresh)."""
    file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115 - the caller owns it
    try:
        download(file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file
