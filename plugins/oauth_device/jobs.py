"""Background jobs: purge old token rows (daily), flush ``last_used_at`` (every minute) and revoke
tokens whose poll never came (every five minutes)."""

from __future__ import annotations

import datetime
from typing import Any

import structlog

from core.audit import AuditEvent
from core.jobs import CronJob, host_of
from plugins.oauth_device.device_state import APPROVED_MIN_TTL, DEVICE_CODE_TTL
from plugins.oauth_device.runtime import runtime_of
from plugins.oauth_device.usage import flush_uses

log = structlog.get_logger("difyd.oauth_device")


async def purge_oauth_access_tokens(ctx: dict[str, Any]) -> int:
    """Delete rows revoked or expired more than ``retention_days`` ago, 500 per transaction."""
    runtime = runtime_of(host_of(ctx))
    if not runtime.settings.clean_task_enabled:
        return 0
    cutoff = runtime.now_dt() - datetime.timedelta(days=runtime.settings.retention_days)
    removed = await runtime.tokens.purge(cutoff)
    if removed:
        log.info("oauth_tokens_purged", removed=removed)
    return removed


async def flush_oauth_token_usage(ctx: dict[str, Any]) -> int:
    """Write the queued token uses of finished minutes as one batched UPDATE."""
    runtime = runtime_of(host_of(ctx))
    return await flush_uses(runtime.ctx.state, runtime.tokens, runtime.now())


# An approved state lives at most the flow's lifetime (or the approval's minimum, if longer): past
# this age a token that no poll received never will be.
UNDELIVERED_GRACE = datetime.timedelta(seconds=DEVICE_CODE_TTL + APPROVED_MIN_TTL)


async def revoke_undelivered_tokens(ctx: dict[str, Any]) -> int:
    """Revoke tokens minted for approvals whose poll never came: the state store lost the approval
    (a Redis restart), its outcome was unknown, or the device gave up."""
    runtime = runtime_of(host_of(ctx))
    now = runtime.now_dt()
    revoked = await runtime.tokens.revoke_undelivered(now - UNDELIVERED_GRACE, now)
    for token_id in revoked:
        await runtime.ctx.audit(
            AuditEvent("oauth.token_revoked", {"token_id": str(token_id), "reason": "never_delivered"})
        )
    return len(revoked)


JOBS = [purge_oauth_access_tokens, flush_oauth_token_usage, revoke_undelivered_tokens]


def cron_schedules(clean_task_enabled: bool) -> list[CronJob]:
    schedules = [
        CronJob(flush_oauth_token_usage, "* * * * *"),
        CronJob(revoke_undelivered_tokens, "*/5 * * * *"),
    ]
    if clean_task_enabled:
        schedules.append(CronJob(purge_oauth_access_tokens, "17 3 * * *", timeout=1800))
    return schedules
