"""Jobs: the retention purge and the batched last_used_at flush.

Run by name through the host's job queue while the app runs (``host.jobs.run``): on the in-process
runner, and on the PostgreSQL + Redis backend through Redis to a saq worker, as in production."""

from __future__ import annotations

import datetime
import uuid

from core.auth.bearer import hash_token
from core.testing import factories
from plugins.oauth_device import jobs as plugin_jobs
from plugins.oauth_device.usage import marker_key, record_use
from tests.support.tokens import bearer

from .helpers import device_login, insert_external_token, set_row, token_rows

DAY = datetime.timedelta(days=1)


async def test_purge_deletes_only_old_revoked_or_expired_rows(client, host):
    """Rows revoked or expired more than 30 days ago go; recent and live ones stay."""
    now = datetime.datetime.now(datetime.UTC)
    _, old_revoked = await insert_external_token(host, label="old revoked")
    _, recent_revoked = await insert_external_token(host, label="recent revoked")
    _, _old_expired = await insert_external_token(host, label="old expired", expires_at=now - 31 * DAY)
    _, live = await insert_external_token(host, label="live")
    await set_row(host, old_revoked, revoked_at=now - 31 * DAY, token_hash=None)
    await set_row(host, recent_revoked, revoked_at=now - 2 * DAY, token_hash=None)
    removed = await host.jobs.run("purge_oauth_access_tokens")
    assert removed == 2
    assert {row.id for row in await token_rows(host)} == {recent_revoked, live}


async def test_purge_works_in_batches(host):
    """More rows than one batch are all purged."""
    from plugins.oauth_device.runtime import runtime_of

    now = datetime.datetime.now(datetime.UTC)
    for index in range(7):
        await insert_external_token(host, label=f"gone {index}", expires_at=now - 40 * DAY)
    assert await runtime_of(host).tokens.purge(now - 30 * DAY, batch=3) == 7
    assert await token_rows(host) == []


async def test_purge_can_be_disabled(make_settings):
    """ENABLE_CLEAN_OAUTH_ACCESS_TOKENS_TASK=false: no purge schedule and the job does nothing."""
    from core.app import build_context

    ctx = build_context(make_settings(**{"plugin.oauth_device.clean_task_enabled": False}))
    try:
        crons = [cron.function.__name__ for cron in ctx.plugins.hook.cron_jobs(ctx=ctx)[0]]
        assert "purge_oauth_access_tokens" not in crons and "flush_oauth_token_usage" in crons
        await insert_external_token(ctx, expires_at=datetime.datetime.now(datetime.UTC) - 90 * DAY)
        assert await plugin_jobs.purge_oauth_access_tokens({"host": ctx}) == 0
        assert len(await token_rows(ctx)) == 1
    finally:
        from core.testing.fixtures import truncate

        await truncate(ctx)
        await ctx.state.close()
        await ctx.engine.dispose()


async def test_last_used_is_recorded_at_most_once_a_minute(host):
    """Two uses within a minute queue one write; the marker lives 60 s."""
    token_id = str(uuid.uuid4())
    assert await record_use(host.state, token_id, 1_000_000.0) is True
    assert await record_use(host.state, token_id, 1_000_010.0) is False
    assert 0 < await host.state.ttl(marker_key(token_id)) <= 60


async def test_flush_writes_last_used_in_one_batch(client, host, runtime):
    """A token's use shows up as last_used_at in the sessions list once the flush job has run."""
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    login = await device_login(client, alice)
    sessions = await client.get("/openapi/v1/account/sessions", headers=bearer(login["token"]))
    assert sessions.json()["data"][0]["last_used_at"] is None
    real_now = runtime.clock()
    runtime.clock = lambda: real_now + 120  # the minute of the use is over
    assert await host.jobs.run("flush_oauth_token_usage") == 1
    row = next(row for row in await token_rows(host) if str(row.id) == login["token_id"])
    assert row.last_used_at is not None
    assert abs(row.last_used_at.timestamp() - real_now) < 60
    # Drained: a second flush writes nothing.
    assert await host.jobs.run("flush_oauth_token_usage") == 0
    assert row.token_hash == hash_token(login["token"])
