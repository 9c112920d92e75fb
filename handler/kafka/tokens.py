"""OAUTHBEARER tokens for either client: the static one, or a fresh one from the configured
command (KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND). No client is imported here."""

from __future__ import annotations

import shlex
import subprocess

from handler.errors import AuthError


def oauth_token(token: str | None, command: str | None, timeout_seconds: float) -> str:
    """The token, or the command's output (AuthError, naming neither, if the command fails)."""
    if command is None:
        assert token is not None
        return token
    try:
        done = subprocess.run(
            shlex.split(command),
            capture_output=True,
            text=True,
            check=True,
            timeout=timeout_seconds,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        # The command line is the user's; its output may be a token: neither is repeated.
        raise AuthError(
            "KAFKA_BEAT_SASL_OAUTH_TOKEN_COMMAND failed "
            f"({type(exc).__name__}); run it by hand to see why"
        ) from None
    return done.stdout.strip()
