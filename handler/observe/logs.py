"""Structured logs: one JSON object per line on stderr, each carrying the run id."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

LOGGER_NAME = "kafka_beat"
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_SECRETS: list[str] = []
REDACTED = "***"


def register_secrets(values: list[str]) -> None:
    """Secret values to scrub from every log line and message this process writes."""
    _SECRETS.extend(value for value in values if value and value not in _SECRETS)


def redact(text: str) -> str:
    # Longest first, so a secret that contains another is scrubbed whole.
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "run_id": self.run_id,
            "message": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(entry, default=str).decode())


# What a Kafka client says at WARNING that is expected and recovered from without anyone
# acting: the group coordinator moving or still loading while a group forms on a fresh broker
# (kafka-python looks it up again), and a step of kafka-python's event loop taking over 0.1 s
# on a busy machine. A newcomer reads either as a failure; at DEBUG they are still shown.
_EXPECTED_CHATTER = (
    ("kafka.coordinator", "Marking the coordinator dead"),
    ("kafka.net.selector", "threshold). It is blocking the event loop"),
)


class ClientChatter(logging.Filter):
    """Expected client warnings as DEBUG lines: shown at KAFKA_BEAT_LOG_LEVEL=DEBUG, else not."""

    def __init__(self, show: bool) -> None:
        super().__init__()
        self._show = show

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING or not record.name.startswith("kafka."):
            return True
        text = str(record.msg)
        for logger, words in _EXPECTED_CHATTER:
            if record.name.startswith(logger) and words in text:
                record.levelno, record.levelname = logging.DEBUG, "DEBUG"
                return self._show
        return True


def configure(run_id: str, level: str, secrets: list[str] | None = None) -> logging.Logger:
    """Route Kafka Beat's and the libraries' warnings to stderr as JSON lines, scrubbed of
    `secrets`."""
    register_secrets(secrets or [])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(run_id))
    handler.addFilter(ClientChatter(show=level == "DEBUG"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    # kafka-python logs every reconnect at ERROR/WARNING; keep them, but not its INFO chatter.
    logging.getLogger("kafka").setLevel(logging.WARNING)
    return logger


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
