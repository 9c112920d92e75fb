"""Loading the settings: from the environment, `*_FILE` secrets and Secrets Manager ARNs, with
every problem named by its variable before anything touches Kafka."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from handler.config import secrets_manager
from handler.config.settings import SECRET_FIELDS, Settings
from handler.config.values import ENV_PREFIX, env_name
from handler.errors import ConfigError

# Variables that share the prefix but belong to the dev tooling, not to a run.
_TOOLING_VARIABLES = frozenset({"KAFKA_BEAT_JARS_DIR"})


def _describe(error: Mapping[str, Any]) -> str:
    location = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not location:
        return message
    shown = error.get("input")
    secret = location[0] in SECRET_FIELDS
    got = f" (got {shown!r})" if isinstance(shown, str | int | float) and not secret else ""
    return f"{env_name(location[0])}: {message}{got}"


def _unknown_variables(environ: Mapping[str, str]) -> list[str]:
    known = {env_name(name) for name in Settings.model_fields}
    known |= {f"{env_name(name)}_FILE" for name in SECRET_FIELDS}
    problems = []
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in known and name not in _TOOLING_VARIABLES:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"{name} is not a Kafka Beat setting{hint}")
    return problems


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from the environment, with `overrides` (CLI flags) taking precedence.

    Raises ConfigError with one line per problem, each naming the variable to fix.
    """
    environ = os.environ if environ is None else environ
    problems = _unknown_variables(environ)
    values = {key: value for key, value in (overrides or {}).items() if value is not None}
    for name in SECRET_FIELDS:
        path = environ.get(f"{env_name(name)}_FILE")
        if path and name not in values:
            try:
                # Mounted secrets (Kubernetes, Docker) end with a newline that is not theirs.
                values[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                problems.append(f"{env_name(name)}_FILE: cannot read '{path}': {exc.strerror}")
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        problems.extend(_describe(error) for error in exc.errors())
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return resolve_secret_references(settings)


def resolve_secret_references(settings: Settings) -> Settings:
    """Replace secrets given as AWS Secrets Manager ARNs by their values."""
    updates = {}
    for name in SECRET_FIELDS:
        value = getattr(settings, name)
        if value is not None and secrets_manager.is_reference(value.get_secret_value()):
            fetched = secrets_manager.fetch(value.get_secret_value(), env_name(name))
            updates[name] = SecretStr(fetched)
    return settings.model_copy(update=updates) if updates else settings
