"""Ending an account's console sessions (an admin's `accounts end-sessions`, or a new password): every
browser signed in until then is signed out with its next request, and signing in again works at once."""

from __future__ import annotations

from core.domain import services
from core.testing import factories
from tests.auth.bearer_probe import running
from tests.auth.test_console import dify_passport, login

PROFILE = "/console/api/account/profile"


async def _end_sessions(ctx, email: str) -> None:
    async with ctx.session() as session:
        await services.end_console_sessions(session, await services.account_by_email(session, email))


async def test_ended_sessions_are_signed_out_and_a_new_sign_in_works(make_settings):
    async with running(make_settings) as run:
        await factories.person(run.ctx, "alice@example.com")
        await factories.person(run.ctx, "bob@example.com", "Bob")
        assert (await login(run, "alice@example.com")).status_code == 200
        alice_cookie = dict(run.client.cookies)
        assert (await run.client.get(PROFILE)).status_code == 200

        await _end_sessions(run.ctx, "alice@example.com")
        ended = await run.client.get(PROFILE)
        assert ended.status_code == 401
        assert ended.json()["code"] == "session_ended"
        assert "Sign in again" in ended.json()["message"]

        # Bob's sessions are his own: untouched.
        assert (await login(run, "bob@example.com")).status_code == 200
        assert (await run.client.get(PROFILE)).json()["email"] == "bob@example.com"

        # Alice signs in again: the new session is after the instant, so it works.
        assert (await login(run, "alice@example.com")).status_code == 200
        assert (await run.client.get(PROFILE)).json()["email"] == "alice@example.com"
        # ...while the old cookie stays ended.
        assert (await run.client.get(PROFILE, cookies=alice_cookie)).status_code == 401


async def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(make_settings):
    async with running(make_settings) as run:
        await factories.person(run.ctx, "alice@example.com")
        assert (await login(run, "alice@example.com")).status_code == 200
        async with run.ctx.session() as session:
            account = await services.account_by_email(session, "alice@example.com")
            await services.set_password(session, account, "a brand new passphrase")
        assert (await run.client.get(PROFILE)).status_code == 401
        assert (await login(run, "alice@example.com", "a brand new passphrase")).status_code == 200
        assert (await run.client.get(PROFILE)).status_code == 200


async def test_a_dify_minted_passport_without_iat_is_ended_too(make_settings):
    """Dify's passports carry no iat: the session is taken as begun one session length before it
    expires, so ending sessions reaches it."""
    async with running(make_settings) as run:
        alice = await factories.person(run.ctx, "alice@example.com")
        cookies = {"access_token": dify_passport(alice.id)}
        assert (await run.client.get(PROFILE, cookies=cookies)).status_code == 200
        await _end_sessions(run.ctx, "alice@example.com")
        assert (await run.client.get(PROFILE, cookies=cookies)).status_code == 401
