"""Structured logs that never carry a token, password or cookie."""

from __future__ import annotations

import logging
import re
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "token", "access_token", "minted_token", "refresh_token", "password", "password_hash",
        "cookie", "cookies", "set-cookie", "authorization", "device_code", "user_code", "token_hash",
        "secret_key", "csrf_token", "x-csrf-token",
    }
)
# Anything that looks like one of our bearer tokens, wherever it hides in a message.
TOKEN_PATTERN = re.compile(r"\b(dfo[ae]_)[A-Za-z0-9_-]{8,}")
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return TOKEN_PATTERN.sub(r"\1" + REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SENSITIVE_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: REDACTED if k.lower() in SENSITIVE_KEYS else _scrub(v) for k, v in event_dict.items()}


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping().get(level.upper(), 20)),
        cache_logger_on_first_use=True,
    )
