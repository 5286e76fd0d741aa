"""/openapi/v1/account* (§1.11, §1.12, rows #10-#13) and the bearer errors of §4.2."""

from __future__ import annotations

import datetime
import uuid

import pytest
import redis.exceptions

from core.testing import factories
from tests.support.tokens import bearer

from .helpers import device_login, insert_external_token, live_rows, record_audit, set_row

ACCOUNT = "/openapi/v1/account"
SESSIONS = f"{ACCOUNT}/sessions"


async def _login(client, host, email="alice@example.com", name="Alice", **kw):
    person = await factories.person(host, email=email, name=name)
    ws = await factories.workspace(host, f"{name} WS", (person, "owner"))
    return person, ws, await device_login(client, person, **kw)


async def test_account_identity_for_an_account_token(client, host):
    """A dfoa_ token reads back its account, workspaces with roles and default workspace."""
    alice, ws, login = await _login(client, host)
    body = (await client.get(ACCOUNT, headers=bearer(login["token"]))).json()
    assert body == {
        "subject_type": "account",
        "subject_email": alice.email,
        "account": {"id": alice.id, "email": alice.email, "name": "Alice"},
        "workspaces": [{"id": str(ws.id), "name": "Alice WS", "role": "owner"}],
        "default_workspace_id": str(ws.id),
    }


async def test_account_identity_for_an_external_token(client, host):
    """A dfoe_ token is accepted on /account and reads back its SSO identity (F behaviour)."""
    token, _ = await insert_external_token(host)
    response = await client.get(ACCOUNT, headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "subject_type": "external_sso",
        "subject_email": "sso@partner.com",
        "subject_issuer": "https://idp.partner.com",
        "account": None,
        "workspaces": [],
        "default_workspace_id": None,
    }


async def test_sessions_envelope_newest_first(client, host):
    """The sessions list is the pagination envelope of the caller's live sessions, newest first, Z times."""
    alice, _, first = await _login(client, host, label="difyctl on one")
    second = await device_login(client, alice, label="difyctl on two")
    bob = await factories.person(host, email="bob@example.com", name="Bob")
    await factories.workspace(host, "Bob WS", (bob, "owner"))
    await device_login(client, bob, label="difyctl on bob")
    body = (await client.get(SESSIONS, headers=bearer(second["token"]))).json()
    assert (body["page"], body["limit"], body["total"], body["has_more"]) == (1, 100, 2, False)
    assert [row["id"] for row in body["data"]] == [second["token_id"], first["token_id"]]
    row = body["data"][0]
    assert (
        row["prefix"] == "dfoa_" and row["client_id"] == "difyctl" and row["device_label"] == "difyctl on two"
    )
    assert row["created_at"].endswith("Z") and row["expires_at"].endswith("Z") and row["last_used_at"] is None
    paged = (
        await client.get(SESSIONS, params={"page": 2, "limit": 1}, headers=bearer(second["token"]))
    ).json()
    assert [r["id"] for r in paged["data"]] == [first["token_id"]] and paged["has_more"] is False
    first_page = (await client.get(SESSIONS, params={"limit": 1}, headers=bearer(second["token"]))).json()
    assert first_page["has_more"] is True


async def test_sessions_hide_revoked_and_expired(client, host):
    """Revoked and expired rows are not listed."""
    alice, _, first = await _login(client, host, label="a")
    second = await device_login(client, alice, label="b")
    await set_row(
        host, first["token_id"], expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(1)
    )
    body = (await client.get(SESSIONS, headers=bearer(second["token"]))).json()
    assert [row["id"] for row in body["data"]] == [second["token_id"]]


async def test_sessions_for_an_external_subject(client, host):
    """A dfoe_ caller sees the rows of its email+issuer without an account only."""
    token, token_id = await insert_external_token(host)
    await insert_external_token(host, issuer="https://other-idp", label="elsewhere")
    body = (await client.get(SESSIONS, headers=bearer(token))).json()
    assert [row["id"] for row in body["data"]] == [str(token_id)]
    assert body["data"][0]["prefix"] == "dfoe_"


async def test_sessions_for_an_external_subject_without_issuer(client, host):
    """A dfoe_ row without an issuer still lists, and revokes, its own session (not its namesakes')."""
    token, token_id = await insert_external_token(host, issuer=None)
    _, other_id = await insert_external_token(host, label="same email, with an issuer")
    body = (await client.get(SESSIONS, headers=bearer(token))).json()
    assert [row["id"] for row in body["data"]] == [str(token_id)]
    assert body["total"] == 1
    foreign = await client.delete(f"{SESSIONS}/{other_id}", headers=bearer(token))
    assert foreign.status_code == 404
    own = await client.delete(f"{SESSIONS}/{token_id}", headers=bearer(token))
    assert own.json() == {"status": "revoked"}


@pytest.mark.parametrize(
    "params",
    [{"page": 0}, {"limit": 0}, {"limit": 201}, {"page": "abc"}, {"limit": "1.5"}, {"sort": "asc"}],
)
async def test_sessions_query_is_strict(client, host, params):
    """page >= 1, 1 <= limit <= 200, integers only, no unknown parameters: otherwise 422 invalid_param."""
    _, _, login = await _login(client, host)
    response = await client.get(SESSIONS, params=params, headers=bearer(login["token"]))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_param" and body["details"]


async def test_revoke_self_logs_out_at_once(client, host):
    """DELETE sessions/self revokes the presenting token; the next call is 401; repeating is harmless."""
    recorder = record_audit(host)
    _, _, login = await _login(client, host)
    headers = bearer(login["token"])
    assert (await client.get(ACCOUNT, headers=headers)).status_code == 200  # cached now
    response = await client.delete(f"{SESSIONS}/self", headers=headers)
    assert response.status_code == 200 and response.json() == {"status": "revoked"}
    after = await client.get(ACCOUNT, headers=headers)
    assert after.status_code == 401 and after.json()["message"] == "token unknown or revoked"
    assert await live_rows(host) == []
    assert recorder.named("oauth.token_revoked")[0]["token_id"] == login["token_id"]


async def test_revoke_is_audited_even_when_the_cache_cannot_be_told(client, host, monkeypatch):
    """The state store fails right after the row is revoked: the answer is 503, but the revocation is
    durable and audited once; the client's retry (the store back) answers 200 without a second line."""
    recorder = record_audit(host)
    _, _, login = await _login(client, host)
    headers = bearer(login["token"])
    assert (await client.get(ACCOUNT, headers=headers)).status_code == 200  # cached now
    healthy_delete = host.state.delete

    async def failing_delete(key):
        raise redis.exceptions.ConnectionError("Error 111 connecting to redis")  # what Redis down raises

    monkeypatch.setattr(host.state, "delete", failing_delete)
    response = await client.delete(f"{SESSIONS}/self", headers=headers)
    assert response.status_code == 503
    assert await live_rows(host) == []
    assert [event["token_id"] for event in recorder.named("oauth.token_revoked")] == [login["token_id"]]
    monkeypatch.setattr(host.state, "delete", healthy_delete)
    retry = await client.delete(f"{SESSIONS}/self", headers=headers)
    assert retry.status_code == 200
    assert (await client.get(ACCOUNT, headers=headers)).status_code == 401
    assert len(recorder.named("oauth.token_revoked")) == 1


async def test_revoke_self_for_an_external_token(client, host):
    """A dfoe_ CLI can log out server-side too."""
    token, _ = await insert_external_token(host)
    assert (await client.delete(f"{SESSIONS}/self", headers=bearer(token))).json() == {"status": "revoked"}
    assert (await client.get(ACCOUNT, headers=bearer(token))).status_code == 401


async def test_revoke_one_of_my_sessions(client, host):
    """DELETE sessions/<id> revokes another of the caller's sessions; its token stops working at once."""
    alice, _, first = await _login(client, host, label="a")
    second = await device_login(client, alice, label="b")
    assert (await client.get(ACCOUNT, headers=bearer(first["token"]))).status_code == 200
    response = await client.delete(f"{SESSIONS}/{first['token_id']}", headers=bearer(second["token"]))
    assert response.json() == {"status": "revoked"}
    assert (await client.get(ACCOUNT, headers=bearer(first["token"]))).status_code == 401
    assert (await client.get(ACCOUNT, headers=bearer(second["token"]))).status_code == 200


async def test_revoke_someone_elses_session_is_404(client, host):
    """Another subject's session id answers 404 "session not found" and stays live."""
    _, _, alice_login = await _login(client, host)
    _, _, bob_login = await _login(client, host, "bob@example.com", "Bob")
    response = await client.delete(
        f"{SESSIONS}/{alice_login['token_id']}", headers=bearer(bob_login["token"])
    )
    assert response.status_code == 404
    assert response.json()["message"] == "session not found"
    assert (await client.get(ACCOUNT, headers=bearer(alice_login["token"]))).status_code == 200
    ext_token, ext_id = await insert_external_token(host)
    assert (
        await client.delete(f"{SESSIONS}/{ext_id}", headers=bearer(alice_login["token"]))
    ).status_code == 404
    assert (
        await client.delete(f"{SESSIONS}/{alice_login['token_id']}", headers=bearer(ext_token))
    ).status_code == 404


@pytest.mark.parametrize("session_id", ["not-a-uuid", "123", str(uuid.uuid4())])
async def test_revoke_unknown_or_malformed_id_is_404(client, host, session_id):
    """A non-UUID or unknown id answers 404, never a 500."""
    _, _, login = await _login(client, host)
    response = await client.delete(f"{SESSIONS}/{session_id}", headers=bearer(login["token"]))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# §4.2 bearer errors on the /account surface.


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}])
async def test_missing_bearer_is_401(client, headers):
    """No or malformed Authorization answers 401 missing bearer token with the challenge."""
    response = await client.get(ACCOUNT, headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "missing bearer token"
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("token", ["app-abcdef", "dfp_abcdef", "nonsense"])
async def test_unknown_prefix_is_401(client, token):
    """app-, dfp_ and other prefixes answer 401 unknown token prefix."""
    response = await client.get(ACCOUNT, headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["message"] == "unknown token prefix"


async def test_unknown_token_is_401(client):
    """A well-formed but unknown dfoa_ token answers 401 token unknown or revoked."""
    response = await client.get(ACCOUNT, headers=bearer("dfoa_" + "A" * 43))
    assert response.status_code == 401
    assert response.json()["message"] == "token unknown or revoked"


async def test_expired_token_is_hard_expired_once(client, host):
    """An expired token answers 401 token_expired; its row is revoked and audited exactly once."""
    recorder = record_audit(host)
    _, _, login = await _login(client, host)
    await set_row(
        host, login["token_id"], expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(1)
    )
    for _ in range(3):
        response = await client.get(ACCOUNT, headers=bearer(login["token"]))
        assert response.status_code == 401
        assert response.json()["code"] == "token_expired"
    assert await live_rows(host) == []
    assert len(recorder.named("oauth.token_expired")) == 1


async def test_variant_mismatch_is_refused(client, host):
    """A dfoe_ row that names an account breaks the variant rule and authenticates nobody."""
    alice = await factories.person(host)
    token, token_id = await insert_external_token(host)
    await set_row(host, token_id, account_id=alice.account.id)
    assert (await client.get(ACCOUNT, headers=bearer(token))).status_code == 401


async def test_bearer_disabled_is_503(make_settings):
    """With ENABLE_OAUTH_BEARER=false /account answers 503 bearer_auth_disabled."""
    import httpx

    from core.app import build_context, create_app

    ctx = build_context(make_settings(**{"bearer.enabled": False}))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(ctx=ctx)), base_url="http://testserver.local"
        ) as http:
            response = await http.get(ACCOUNT, headers=bearer("dfoa_" + "A" * 43))
        assert response.status_code == 503
        assert response.json()["message"].startswith("bearer_auth_disabled")
    finally:
        await ctx.state.close()
        await ctx.engine.dispose()


async def test_account_rate_limit_per_account(client, host):
    """More than 60 /account calls a minute for one account answer 429 (bucket account:account)."""
    from plugins.oauth_device.abuse import ACCOUNT_PER_ACCOUNT

    alice, _, login = await _login(client, host)
    for _ in range(60):
        await ACCOUNT_PER_ACCOUNT.hit(host.state, alice.id)
    response = await client.get(ACCOUNT, headers=bearer(login["token"]))
    assert response.status_code == 429
