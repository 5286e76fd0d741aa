"""Named rate-limit buckets on the state store's sliding window. Every bucket has its own key."""

from __future__ import annotations

from dataclasses import dataclass

from core.http.errors import ApiError, too_many_requests
from core.http.metrics import RATE_LIMIT_REJECTIONS
from core.state.contract import StateStore, WindowVerdict


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` hits per ``window`` seconds in bucket ``name`` (e.g. ``device_code:ip``)."""

    name: str
    limit: int
    window: float

    def key(self, subject: str) -> str:
        return f"rl:{self.name}:{subject}"

    async def hit(self, state: StateStore, subject: str) -> WindowVerdict:
        verdict = await state.hit_window(self.key(subject), self.limit, self.window)
        if not verdict.allowed:
            RATE_LIMIT_REJECTIONS.labels(bucket=self.name).inc()
        return verdict

    async def enforce(self, state: StateStore, subject: str, error: ApiError | None = None) -> None:
        """Count a hit; raise 429 ErrorBody with Retry-After when the bucket is full."""
        if self.limit <= 0:
            return
        verdict = await self.hit(state, subject)
        if not verdict.allowed:
            raise error or too_many_requests(verdict.retry_after)
