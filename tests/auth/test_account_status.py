"""An administrator bans or closes an account: its tokens stop at once (even those the auth cache
holds), and work again the moment it is reactivated."""

from __future__ import annotations

from core.domain import services
from core.testing import factories
from tests.auth.bearer_probe import bearer, running


async def _set_status(ctx, person, status: str) -> None:
    async with ctx.session() as session:
        account = await services.account_by_email(session, person.email)
        await services.set_account_status(session, account, status)


async def test_a_banned_accounts_tokens_stop_at_once_and_work_again_when_reactivated(make_settings):
    async with running(make_settings) as run:
        alice = await factories.person(run.ctx)
        token = run.probe.mint(account_id=alice.id)
        assert (await run.client.get("/openapi/v1/probe/any", headers=bearer(token))).status_code == 200

        await _set_status(run.ctx, alice, "banned")  # the cached snapshot is dropped on commit
        refused = await run.client.get("/openapi/v1/probe/any", headers=bearer(token))
        assert refused.status_code == 401
        assert refused.json()["code"] == "account_inactive"

        await _set_status(run.ctx, alice, "active")
        assert (await run.client.get("/openapi/v1/probe/any", headers=bearer(token))).status_code == 200


async def test_a_closed_account_is_refused_too(make_settings):
    async with running(make_settings) as run:
        bob = await factories.person(run.ctx, "bob@example.com", "Bob")
        token = run.probe.mint(account_id=bob.id)
        await _set_status(run.ctx, bob, "closed")
        assert (await run.client.get("/openapi/v1/probe/any", headers=bearer(token))).status_code == 401
