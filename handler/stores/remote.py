"""What the cloud stores share and that imports no cloud library: TLS to the endpoint, and a
download kept aside so that the whole GET runs under the retry policy."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import IO, Any, TypeVar
from urllib.parse import urlparse

from handler.errors import ConfigError, retrying

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


def request(
    call: Callable[[], T],
    translating: Callable[[], AbstractContextManager[None]],
    refusal: type[Exception],
    expected: tuple[Callable[[Any], bool], T] | None,
    attempts: int,
    max_backoff_seconds: float,
) -> T:
    """`call`, one request, under the one retry policy, its errors turned into ours by
    `translating`. `expected` recognises a `refusal` that answers the question rather than fails
    it (the name is taken, nothing is there) and gives the answer it stands for."""

    def attempt() -> T:
        with translating():
            try:
                return call()
            except refusal as exc:
                if expected is None or not expected[0](exc):
                    raise
                return expected[1]

    return retrying(attempts, max_backoff_seconds)(attempt)


def spool() -> IO[bytes]:
    """An empty file to download into: in memory while small, on disk beyond."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)


def rewound(file: IO[bytes]) -> IO[bytes]:
    file.seek(0)
    return file
