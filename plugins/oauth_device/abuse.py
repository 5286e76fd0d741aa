"""Abuse resistance: per-endpoint rate-limit buckets (§5) and the per-IP wrong-user-code lockout."""

from __future__ import annotations

from dataclasses import dataclass

from core.audit import AuditEvent
from core.context import HostContext
from core.http.errors import too_many_requests
from core.http.metrics import RATE_LIMIT_REJECTIONS
from core.http.ratelimit import RateLimit
from core.state.contract import Incr

HOUR = 3600

DEVICE_CODE_PER_IP = RateLimit("device_code:ip", 60, HOUR)
LOOKUP_PER_IP = RateLimit("device_lookup:ip", 60, 5 * 60)
APPROVE_PER_ACCOUNT = RateLimit("device_approve:account", 10, HOUR)
DENY_PER_ACCOUNT = RateLimit("device_deny:account", 10, HOUR)
ACCOUNT_PER_ACCOUNT = RateLimit("account:account", 60, 60)
ACCOUNT_PER_EMAIL = RateLimit("account:subject_email", 60, 60)
REVOKE_PER_IP = RateLimit("oauth_revoke:ip", 60, 60)


@dataclass(frozen=True, slots=True)
class PollBucket:
    """Token polls per minute from one address, over all its device codes: its own bucket
    (``device_poll:ip``), shared by every replica. A fixed one-minute window counted in the same round
    trip as the poll itself (a sliding window costs a script per poll, and this guard is generous:
    its edges may admit up to twice the limit across a minute boundary). 0 turns it off."""

    limit: int
    name: str = "device_poll:ip"

    def count(self, ip: str) -> Incr | None:
        return Incr(f"rl:{self.name}|{ip}", ttl=60) if self.limit > 0 else None

    def admitted(self, polls: int | None) -> bool:
        if polls is None or polls <= self.limit:
            return True
        RATE_LIMIT_REJECTIONS.labels(bucket=self.name).inc()
        return False

# RFC 8628 §5.1: a low-entropy code needs a cap on guesses. 10 misses in 15 minutes lock the IP out
# of lookup/approve/deny for 15 minutes.
MISS_LIMIT = 10
MISS_WINDOW = 15 * 60
LOCKOUT_SECONDS = 15 * 60


def _misses_key(ip: str) -> str:
    return f"oauth:user_code_misses:{ip}"


def lockout_key(ip: str) -> str:
    return f"oauth:user_code_lockout:{ip}"


class WrongCodeCounter:
    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx
        self.state = ctx.state

    async def ensure_not_locked(self, ip: str) -> None:
        # One round trip: the lockout key is always written with a TTL, so None means no lockout.
        remaining = await self.state.ttl(lockout_key(ip))
        if remaining is not None:
            raise too_many_requests(remaining or LOCKOUT_SECONDS, "too many wrong user codes")

    async def miss(self, ip: str) -> None:
        """Count a wrong code; the tenth in the window starts the lockout."""
        count = await self.state.incr(_misses_key(ip), ttl=MISS_WINDOW)
        if count >= MISS_LIMIT:
            await self.state.set(lockout_key(ip), b"1", ttl=LOCKOUT_SECONDS)
            await self.state.delete(_misses_key(ip))
            await self.ctx.audit(
                AuditEvent(
                    "oauth.user_code_lockout",
                    {"ip": ip, "misses": count, "locked_for_seconds": LOCKOUT_SECONDS},
                )
            )
