"""POST approve / deny (§1.5, §1.6, rows #4/#5): session, CSRF, order of checks, transitions."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core.domain.models import Account, Membership
from core.testing import factories
from plugins.oauth_device.approvals import guard_key
from plugins.oauth_device.models import ACCOUNT_ISSUER

from .helpers import DEVICE, decide, live_rows, pending_code, poll, record_audit, start_device_code


async def _member(host, **kw):
    alice = await factories.person(host, **kw)
    await factories.workspace(host, "Acme", (alice, "owner"))
    return alice


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_without_session_is_401(client, action):
    """No console session cookie answers 401 Unauthorized."""
    response = await client.post(f"{DEVICE}/{action}", json={"user_code": "ABCD-EFGH"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_missing_or_wrong_csrf_is_401(client, host, action):
    """A session without the matching X-CSRF-Token header answers 401 and changes nothing."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    for headers in ({}, {"X-CSRF-Token": csrf + "x"}):
        response = await client.post(
            f"{DEVICE}/{action}", json={"user_code": started["user_code"]}, headers=headers
        )
        assert response.status_code == 401
        assert response.json()["message"] == "CSRF token is missing or invalid."
    assert (await poll(client, started["device_code"])).json() == {"error": "authorization_pending"}


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_banned_account_is_401(client, host, action):
    """A banned account's session answers 401 "Account is banned."."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    async with host.session() as session:
        await session.execute(update(Account).values(status="banned"))
    response = await decide(client, csrf, started["user_code"], action)
    assert response.status_code == 401
    assert response.json()["message"] == "Account is banned."


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_uninitialized_account_is_400(client, host, action):
    """An account that is not initialised answers 400 account_not_initialized."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    async with host.session() as session:
        await session.execute(update(Account).values(status="pending"))
    response = await decide(client, csrf, started["user_code"], action)
    assert response.status_code == 400
    assert response.json()["code"] == "account_not_initialized"


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_account_without_workspace_is_401(client, host, action):
    """An account with no tenant answers 401."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    from sqlalchemy import delete

    async with host.session() as session:
        await session.execute(delete(Membership))
    response = await decide(client, csrf, started["user_code"], action)
    assert response.status_code == 401


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_bearer_disabled_is_503(make_settings, action):
    """With ENABLE_OAUTH_BEARER=false approve and deny answer 503 bearer_auth_disabled."""
    import httpx

    from core.app import build_context, create_app
    from tests.support.tokens import console_login

    ctx = build_context(make_settings(**{"bearer.enabled": False}))
    try:
        alice = await _member(ctx)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(ctx=ctx)), base_url="http://testserver.local"
        ) as http:
            started = await start_device_code(http)
            csrf = await console_login(http, alice)
            response = await decide(http, csrf, started["user_code"], action)
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert response.json()["message"].startswith("bearer_auth_disabled: ")
    finally:
        from core.testing.fixtures import truncate

        await truncate(ctx)
        await ctx.state.close()
        await ctx.engine.dispose()


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_rate_limit_is_ten_per_hour_per_account(client, host, action):
    """The 11th decision in an hour by one account answers 429; the other action has its own bucket."""
    alice = await _member(host)
    _, csrf = await pending_code(client, alice)
    for _index in range(10):
        await client.post(f"{DEVICE}/{action}", json={}, headers={"X-CSRF-Token": csrf})
    response = await decide(client, csrf, "ABCD-EFGH", action)
    assert response.status_code == 429
    other = "deny" if action == "approve" else "approve"
    assert (await decide(client, csrf, "ABCD-EFGH", other)).status_code == 404


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_missing_user_code_is_bad_request(client, host, action):
    """A body without user_code answers 400 bad_request (E2)."""
    alice = await _member(host)
    _, csrf = await pending_code(client, alice)
    response = await client.post(f"{DEVICE}/{action}", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_unknown_code_is_expired_or_unknown(client, host, action):
    """A user code with no state answers 404 {"error": "expired_or_unknown"}."""
    alice = await _member(host)
    _, csrf = await pending_code(client, alice)
    response = await decide(client, csrf, "ABCD-EFGH", action)
    assert response.status_code == 404
    assert response.json() == {"error": "expired_or_unknown"}


@pytest.mark.parametrize("action", ["approve", "deny"])
async def test_resolved_code_is_already_resolved(client, host, action):
    """A code that is no longer pending answers 409 {"error": "already_resolved"}."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    assert (await decide(client, csrf, started["user_code"], "deny")).status_code == 200
    response = await decide(client, csrf, started["user_code"], action)
    assert response.status_code == 409
    assert response.json() == {"error": "already_resolved"}


async def test_approve_in_progress_when_the_guard_is_held(client, host):
    """While another approval holds the device's guard, approve answers 409 approve_in_progress."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice, label="difyctl on busy")
    await host.state.set(
        guard_key(alice.email, ACCOUNT_ISSUER, "difyctl", "difyctl on busy"), b"other", ttl=60
    )
    response = await decide(client, csrf, started["user_code"])
    assert response.status_code == 409
    assert response.json() == {"error": "approve_in_progress"}
    assert await live_rows(host) == []


async def test_approve_succeeds_and_releases_the_guard(client, host):
    """Approve answers {"status": "approved"}, mints one row and releases its guard."""
    recorder = record_audit(host)
    alice = await _member(host)
    started, csrf = await pending_code(client, alice, label="difyctl on box")
    response = await decide(client, csrf, started["user_code"].lower().replace("-", ""))
    assert response.status_code == 200
    assert response.json() == {"status": "approved"}
    rows = await live_rows(host)
    assert len(rows) == 1 and rows[0].subject_issuer == ACCOUNT_ISSUER and rows[0].prefix == "dfoa_"
    assert rows[0].account_id == alice.account.id and rows[0].device_label == "difyctl on box"
    assert await host.state.get(guard_key(alice.email, ACCOUNT_ISSUER, "difyctl", "difyctl on box")) is None
    approved = recorder.named("oauth.device_flow_approved")
    assert len(approved) == 1 and approved[0]["scopes"] == ["full"]
    assert approved[0]["token_id"] == str(rows[0].id)
    assert len(recorder.named("oauth.token_minted")) == 1


async def test_deny_succeeds_and_is_audited(client, host):
    """Deny answers {"status": "denied"}, mints nothing and writes oauth.device_flow_denied."""
    recorder = record_audit(host)
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    response = await decide(client, csrf, started["user_code"], "deny")
    assert response.json() == {"status": "denied"}
    assert await live_rows(host) == []
    assert recorder.named("oauth.device_flow_denied")[0]["device_label"] == "difyctl on test-host"
