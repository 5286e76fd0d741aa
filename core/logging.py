"""Structured logs that never carry a token, password or cookie.

structlog renders each event (redaction runs just before the renderer) and hands the line to the
standard library's logging, so whatever handler the operator (or pytest's ``caplog``) installs
receives it, even from loggers bound before ``configure_logging`` ran again.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "token", "access_token", "minted_token", "refresh_token", "password", "password_hash",
        "cookie", "cookies", "set-cookie", "authorization", "device_code", "user_code", "token_hash",
        "secret_key", "previous_secret_keys", "csrf_token", "x-csrf-token",
    }
)
# Token prefixes the enabled authenticators declared (core.auth.bearer.collect_authenticators):
# text that starts with one and goes on like a token is masked wherever it hides in a message.
_token_prefixes: set[str] = set()
_token_pattern: re.Pattern[str] | None = None
# "Bearer <anything>" in free text (an echoed header, an exception message).
BEARER_PATTERN = re.compile(r"(?i)\b(bearer\s+)\S+")
REDACTED = "[redacted]"
_HANDLER_NAME = "difyd"


def redact_token_prefixes(prefixes: Iterable[str]) -> None:
    """Mask tokens of these prefixes in every log line from now on (prefixes are only ever added)."""
    global _token_pattern
    new = set(prefixes) - _token_prefixes
    if not new:
        return
    _token_prefixes.update(new)
    alternatives = "|".join(re.escape(prefix) for prefix in sorted(_token_prefixes, key=len, reverse=True))
    _token_pattern = re.compile(rf"\b({alternatives})[A-Za-z0-9_-]{{8,}}")


def _scrub_text(value: str) -> str:
    if _token_pattern is not None:
        value = _token_pattern.sub(r"\1" + REDACTED, value)
    return BEARER_PATTERN.sub(r"\1" + REDACTED, value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SENSITIVE_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: blank sensitive keys at any depth and token-shaped text anywhere."""
    return {k: REDACTED if k.lower() in SENSITIVE_KEYS else _scrub(v) for k, v in event_dict.items()}


class LineFormatter(logging.Formatter):
    """One line per record in the configured shape: our structlog events arrive rendered; a library's
    record (uvicorn, saq, SQLAlchemy) is rendered the same way (JSON in production), redacted too."""

    def __init__(self, renderer: Any) -> None:
        super().__init__("%(message)s")
        self.renderer = renderer

    def format(self, record: logging.LogRecord) -> str:
        if record.name.startswith(_HANDLER_NAME):
            return super().format(record)
        event: dict[str, Any] = {
            "event": record.getMessage(),
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": structlog.processors.TimeStamper(fmt="iso", utc=True)(None, "", {})["timestamp"],
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return str(self.renderer(None, record.levelname.lower(), redact(None, "", event)))


def _install_handler(level: int, renderer: Any) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(LineFormatter(renderer))
    root.addHandler(handler)
    root.setLevel(level)
    # SQLAlchemy narrates its pools at INFO ("Pool disposed", "Pool recreating") under the pool class's
    # own module: noise in every CLI command and unstructured lines in a JSON log. Warnings still show;
    # database.echo sets the engine's own logger and is unaffected.
    for pool_logger in ("sqlalchemy.pool", "core.db.pool"):
        logging.getLogger(pool_logger).setLevel(max(level, logging.WARNING))


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Plain-text tracebacks (no local variables, which could hold a password) ...
            structlog.processors.format_exc_info,
            # ... and redaction after it, so the traceback text is scrubbed too.
            redact,
            renderer,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
    _install_handler(numeric, renderer)


class ThrottledWarning:
    """One warning per ``interval`` for a repeated event, saying how often it happened meanwhile: a
    flood of refusals or failed retries must not become a flood of log lines."""

    def __init__(self, logger: Any, event: str, interval: float = 10.0) -> None:
        self.logger = logger
        self.event = event
        self.interval = interval
        self._last = float("-inf")
        self._suppressed = 0

    def __call__(self, **fields: Any) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            self._suppressed += 1
            return
        self.logger.warning(self.event, suppressed_since_last=self._suppressed, **fields)
        self._last, self._suppressed = now, 0

    def reset(self) -> None:
        """Let the next occurrence through (a new outage deserves its first line)."""
        self._last, self._suppressed = float("-inf"), 0
