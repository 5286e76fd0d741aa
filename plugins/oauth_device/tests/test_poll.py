"""POST /openapi/v1/oauth/device/token, the poll (§1.3, status table rows #2)."""

from __future__ import annotations

import datetime
import re

from core.auth.bearer import hash_token
from plugins.oauth_device.device_state import DeviceCodeState, decode_state, device_key, encode_state
from plugins.oauth_device.tests.helpers import decide, pending_code, record_audit, set_row
from tests.support import factories
from tests.support.tokens import DEVICE, bearer, poll

TOKEN = f"{DEVICE}/token"


async def _approved(client, host):
    alice = await factories.person(host)
    ws = await factories.workspace(host, "Acme", (alice, "owner"))
    started, csrf = await pending_code(client, alice)
    assert (await decide(client, csrf, started["user_code"])).status_code == 200
    return alice, ws, started


async def test_missing_fields_are_bad_request(client):
    """A poll without device_code or client_id, or with non-strings, answers 400 bad_request (E2)."""
    for body in (
        {"client_id": "difyctl"},
        {"device_code": "dc_x"},
        {"device_code": 5, "client_id": "difyctl"},
    ):
        response = await client.post(TOKEN, json=body)
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"


async def test_unknown_device_code_is_expired_token(client):
    """An unknown device code answers expired_token, never invalid_grant."""
    response = await poll(client, "dc_unknown")
    assert response.status_code == 400
    assert response.json() == {"error": "expired_token"}


async def test_slow_down_is_checked_first_even_for_unknown_codes(client):
    """A second poll within 5 s answers slow_down whatever the state, and refreshes the timestamp."""
    first = await client.post(TOKEN, json={"device_code": "dc_nope", "client_id": "difyctl"})
    assert first.json() == {"error": "expired_token"}
    second = await client.post(TOKEN, json={"device_code": "dc_nope", "client_id": "difyctl"})
    assert second.status_code == 400
    assert second.json() == {"error": "slow_down"}


async def test_slow_down_clears_after_the_interval(client, runtime):
    """A poll 5 s after the previous one is served normally (time moved by the plugin's clock)."""
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    now = runtime.clock()
    runtime.clock = lambda: now
    body = {"device_code": started["device_code"], "client_id": "difyctl"}
    assert (await client.post(TOKEN, json=body)).json() == {"error": "authorization_pending"}
    runtime.clock = lambda: now + 4.9
    assert (await client.post(TOKEN, json=body)).json() == {"error": "slow_down"}
    runtime.clock = lambda: now + 10
    assert (await client.post(TOKEN, json=body)).json() == {"error": "authorization_pending"}


async def test_pending_is_authorization_pending(client):
    """Before approval the poll answers authorization_pending."""
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    response = await poll(client, started["device_code"])
    assert response.status_code == 400
    assert response.json() == {"error": "authorization_pending"}


async def test_pending_poll_costs_two_state_calls(client, host):
    """A pending poll makes at most two state-store round trips (exchange + get)."""
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    calls = []
    state = host.state
    originals = {}
    for name in (
        "get",
        "get_many",
        "set",
        "exchange",
        "compare_and_delete",
        "delete",
        "ttl",
        "set_if_absent",
        "compare_and_set",
        "consume",
        "incr",
        "hit_window",
    ):
        originals[name] = getattr(state, name)

        def wrap(name=name):
            async def counted(*args, **kwargs):
                calls.append(name)
                return await originals[name](*args, **kwargs)

            return counted

        setattr(state, name, wrap())
    try:
        response = await client.post(
            TOKEN, json={"device_code": started["device_code"], "client_id": "difyctl"}
        )
    finally:
        for name, original in originals.items():
            setattr(state, name, original)
    assert response.json() == {"error": "authorization_pending"}
    assert len(calls) <= 2, calls


async def test_denied_is_access_denied_then_expired(client, host):
    """A denied code answers access_denied once, then expired_token (the state is consumed)."""
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    started, csrf = await pending_code(client, alice)
    assert (await decide(client, csrf, started["user_code"], "deny")).json() == {"status": "denied"}
    assert (await poll(client, started["device_code"])).json() == {"error": "access_denied"}
    assert (await poll(client, started["device_code"])).json() == {"error": "expired_token"}


async def test_approved_returns_the_payload_once(client, host):
    """The first poll after approval gets the §1.3 payload; the next one gets expired_token."""
    alice, ws, started = await _approved(client, host)
    response = await poll(client, started["device_code"])
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"dfoa_[A-Za-z0-9_-]{43}", body["token"])
    assert body["access_token"] == body["token"] and body["token_type"] == "Bearer"
    assert body["subject_type"] == "account"
    assert body["account"] == {"id": alice.id, "email": alice.email, "name": "Alice"}
    assert body["workspaces"] == [{"id": str(ws.id), "name": "Acme", "role": "owner"}]
    assert body["default_workspace_id"] == str(ws.id)
    assert body["expires_at"].endswith("+00:00") and "." in body["expires_at"]
    assert "subject_email" not in body and "subject_issuer" not in body
    expires = datetime.datetime.fromisoformat(body["expires_at"])
    days = (expires - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400
    assert 13.9 < days <= 14
    assert (await poll(client, started["device_code"])).json() == {"error": "expired_token"}
    # The user code is gone with the state.
    lookup = await client.get(f"{DEVICE}/lookup", params={"user_code": started["user_code"]})
    assert lookup.json()["client_id"] is None


async def test_default_workspace_prefers_the_approvers_active_tenant(client, host):
    """default_workspace_id is the approver's current console workspace when it is one of the list."""
    alice = await factories.person(host)
    await factories.workspace(host, "First", (alice, "normal"))
    second = await factories.workspace(host, "Second", (alice, "admin"))
    from sqlalchemy import update

    from core.domain.models import Membership

    async with host.session() as session:
        await session.execute(
            update(Membership)
            .values(current=Membership.tenant_id == second.id)
            .where(Membership.account_id == alice.account.id)
        )
    started, csrf = await pending_code(client, alice)
    await decide(client, csrf, started["user_code"])
    body = (await poll(client, started["device_code"])).json()
    assert body["default_workspace_id"] == str(second.id)
    assert {w["role"] for w in body["workspaces"]} == {"normal", "admin"}


async def test_approved_without_token_is_expired_token(client, host):
    """An approved state whose payload lacks a token answers expired_token."""
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    key = device_key(started["device_code"])
    state = decode_state(await host.state.get(key))
    broken = DeviceCodeState(
        **{
            **{f: getattr(state, f) for f in state.__struct_fields__},
            "status": "approved",
            "poll_payload": {"token_id": "x"},
        }
    )
    await host.state.set(key, encode_state(broken), ttl=900)
    assert (await poll(client, started["device_code"])).json() == {"error": "expired_token"}


async def test_corrupt_state_is_expired_token(client, host):
    """A state that is not valid JSON behaves like an expired one."""
    await host.state.set(device_key("dc_corrupt"), b"{not json", ttl=900)
    assert (await poll(client, "dc_corrupt")).json() == {"error": "expired_token"}


async def test_revoked_between_approve_and_poll_is_access_denied(client, host):
    """If the minted row is revoked before the poll, the poll answers access_denied, not a dead token."""
    _, _, started = await _approved(client, host)
    state = decode_state(await host.state.get(device_key(started["device_code"])))
    await set_row(
        host, state.poll_payload["token_id"], revoked_at=datetime.datetime.now(datetime.UTC), token_hash=None
    )
    assert (await poll(client, started["device_code"])).json() == {"error": "access_denied"}


async def test_cross_ip_poll_is_audited_not_blocked(client, host):
    """A poll from another IP than the code's creator succeeds and is audited with both IPs."""
    recorder = record_audit(host)
    _, _, started = await _approved(client, host)
    key = device_key(started["device_code"])
    state = decode_state(await host.state.get(key))
    moved = DeviceCodeState(
        **{**{f: getattr(state, f) for f in state.__struct_fields__}, "created_ip": "10.9.8.7"}
    )
    await host.state.set(key, encode_state(moved), ttl=900)
    response = await poll(client, started["device_code"])
    assert response.status_code == 200
    events = recorder.named("oauth.device_code_cross_ip_poll")
    assert events == [
        {"token_id": response.json()["token_id"], "creation_ip": "10.9.8.7", "poll_ip": "127.0.0.1"}
    ]
    assert all(response.json()["token"] not in str(e.fields) for e in recorder.events)
    assert all(hash_token(response.json()["token"]) not in str(e.fields) for e in recorder.events)


async def test_polled_token_authenticates(client, host):
    """The token from the poll works on /openapi/v1/account."""
    _, _, started = await _approved(client, host)
    token = (await poll(client, started["device_code"])).json()["token"]
    assert (await client.get("/openapi/v1/account", headers=bearer(token))).status_code == 200
