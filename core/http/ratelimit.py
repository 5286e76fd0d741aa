"""Named rate-limit buckets on the state store's sliding window. Every bucket has its own key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from core.http.errors import ApiError, too_many_requests
from core.http.metrics import RATE_LIMIT_REJECTIONS
from core.state.contract import StateStore, WindowVerdict

# Between the bucket name and the subject. Names may not contain it, so no two buckets can ever
# produce the same key, whatever the subject holds (an IPv6 address is full of colons).
_SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` hits per ``window`` seconds in bucket ``name`` (e.g. ``device_code:ip``); 0 disables."""

    name: str
    limit: int
    window: float

    def __post_init__(self) -> None:
        if not self.name or _SEPARATOR in self.name:
            raise ValueError(f"rate-limit bucket name {self.name!r} must be non-empty without {_SEPARATOR!r}")

    def key(self, subject: str) -> str:
        return f"rl:{self.name}{_SEPARATOR}{subject}"

    async def hit(self, state: StateStore, subject: str) -> WindowVerdict:
        verdict = await state.hit_window(self.key(subject), self.limit, self.window)
        if not verdict.allowed:
            RATE_LIMIT_REJECTIONS.labels(bucket=self.name).inc()
        return verdict

    async def enforce(self, state: StateStore, subject: str, error: ApiError | None = None) -> None:
        """Count a hit; raise 429 (or ``error``) with Retry-After when the bucket is full."""
        if self.limit <= 0:
            return
        verdict = await self.hit(state, subject)
        if verdict.allowed:
            return
        standard = too_many_requests(verdict.retry_after)
        if error is None:
            raise standard
        # A caller's own error still tells the client when to come back.
        for name, value in standard.headers.items():
            error.headers.setdefault(name, value)
        raise error

    def per_ip_guard(self) -> Any:
        """A route guard counting a hit per client IP before the route reads its body or query."""

        async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
            app_state = connection.app.state
            await self.enforce(app_state.host.state, app_state.client_ip(connection))

        return guard
