"""Background jobs: purge old token rows (daily) and flush ``last_used_at`` (every minute)."""

from __future__ import annotations

import datetime
from typing import Any

import structlog

from core.jobs import CronJob, host_of
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


JOBS = [purge_oauth_access_tokens, flush_oauth_token_usage]


def cron_schedules(clean_task_enabled: bool) -> list[CronJob]:
    schedules = [CronJob(flush_oauth_token_usage, "* * * * *")]
    if clean_task_enabled:
        schedules.append(CronJob(purge_oauth_access_tokens, "17 3 * * *", timeout=1800))
    return schedules
