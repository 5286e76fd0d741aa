"""POST /openapi/v1/oauth/device/token, the poll (§1.3, status table rows #2)."""

from __future__ import annotations

import asyncio
import datetime
import re

import msgspec

from core.auth.bearer import hash_token
from core.testing import factories
from plugins.oauth_device.device_state import (
    code_hash,
    decode_state,
    device_key,
    encode_state,
)
from plugins.oauth_device.runtime import runtime_of
from plugins.oauth_device.tests.helpers import (
    DEVICE,
    decide,
    pending_code,
    poll,
    record_audit,
    set_row,
    token_rows,
)
from tests.support.tokens import bearer

TOKEN = f"{DEVICE}/token"


UNKNOWN_CODE = "dc_" + "A" * 32  # shaped like an issued code, never issued


def state_key(device_code: str) -> str:
    return device_key(code_hash(device_code))


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
    response = await poll(client, UNKNOWN_CODE)
    assert response.status_code == 400
    assert response.json() == {"error": "expired_token"}


async def test_slow_down_is_checked_first_even_for_unknown_codes(client):
    """A second poll within 5 s answers slow_down whatever the state."""
    first = await client.post(TOKEN, json={"device_code": UNKNOWN_CODE, "client_id": "difyctl"})
    assert first.json() == {"error": "expired_token"}
    second = await client.post(TOKEN, json={"device_code": UNKNOWN_CODE, "client_id": "difyctl"})
    assert second.status_code == 400
    assert second.json() == {"error": "slow_down"}


async def test_slow_down_clears_after_the_interval_unless_polling_goes_on(client, runtime):
    """A poll one interval after the previous one is served; a client that keeps polling faster keeps
    getting slow_down, since every poll restarts the interval (spec §1.3). The interval is shortened
    to 1 s here (polls 0.3 s apart leave 0.7 s of slack for a slow machine); the state store's own
    clock measures it."""
    runtime.poll_interval = 1.0
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    body = {"device_code": started["device_code"], "client_id": "difyctl"}
    assert (await client.post(TOKEN, json=body)).json() == {"error": "authorization_pending"}
    for _ in range(3):  # 0.9 s in all, more than the interval: only the restarts keep it alive
        await asyncio.sleep(0.3)
        assert (await client.post(TOKEN, json=body)).json() == {"error": "slow_down"}
    await asyncio.sleep(1.2)
    assert (await client.post(TOKEN, json=body)).json() == {"error": "authorization_pending"}


async def test_malformed_device_codes_touch_no_state(client, host):
    """A device_code that was never shaped like an issued one (the wrong prefix or length, a foreign
    alphabet) answers expired_token; one longer than the declared 256 characters answers 400
    bad_request. Neither reads nor writes the state store."""
    cases = [("dc_short", 400), ("dc_" + "!" * 32, 400), ("ab_" + "A" * 32, 400), ("dc_" + "A" * 33, 400)]
    cases.append(("x" * 1_000_000, 400))
    before = await _everything_in_the_state_store(host)
    for code, status in cases:
        response = await client.post(TOKEN, json={"device_code": code, "client_id": "difyctl"})
        assert response.status_code == status, code[:40]
        body = response.json()
        if len(code) <= 256:
            assert body == {"error": "expired_token"}, code
        else:
            assert body["code"] == "bad_request" and body["details"][0]["loc"] == ["device_code"]
    assert await _everything_in_the_state_store(host) == before


async def test_state_is_keyed_by_the_hash_of_the_device_code(client, host):
    """Nothing in the state store names the device code itself: its state, its slow-down marker and
    the user code's mapping all carry its SHA-256."""
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    device_code = started["device_code"]
    await client.post(TOKEN, json={"device_code": device_code, "client_id": "difyctl"})
    hashed = code_hash(device_code)
    assert await host.state.get(device_key(hashed)) is not None
    assert await host.state.get(f"device_code:{hashed}:last_poll") is not None
    assert await host.state.get(f"user_code:{started['user_code']}") == hashed.encode()
    assert await host.state.get(device_key(device_code)) is None


async def test_polls_from_one_ip_have_their_own_bucket(client, host, runtime):
    """Past the per-IP poll limit (its own bucket, device_poll:ip) a poll answers slow_down, difyctl's
    cue to poll less often, without reading the state; another IP is unaffected."""
    runtime.settings = msgspec.structs.replace(runtime.settings, poll_limit_per_ip=3)
    runtime.__post_init__()
    runtime.poll_interval = 0
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    body = {"device_code": started["device_code"], "client_id": "difyctl"}
    answers = [(await client.post(TOKEN, json=body)).json()["error"] for _ in range(5)]
    assert answers == ["authorization_pending"] * 3 + ["slow_down"] * 2
    other = await client.post(TOKEN, json=body, headers={"X-Forwarded-For": "203.0.113.9"})
    # Not a trusted proxy: the forwarded address is ignored, the bucket is still this peer's.
    assert other.json()["error"] == "slow_down"


async def test_pending_is_authorization_pending(client):
    """Before approval the poll answers authorization_pending."""
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    response = await poll(client, started["device_code"])
    assert response.status_code == 400
    assert response.json() == {"error": "authorization_pending"}


async def test_polls_cost_one_or_two_state_round_trips(client, host):
    """A pending poll makes two state-store round trips (the slow-down marker, then the address's
    count and the state in one batch); a poll that comes too soon makes one (the marker alone)."""
    started = (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})).json()
    body = {"device_code": started["device_code"], "client_id": "difyctl"}
    calls, depth = [], []
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
        "batch",
    ):
        originals[name] = getattr(state, name)

        def wrap(name=name):
            async def counted(*args, **kwargs):
                # Only the poll's own calls: the memory store's batch runs its operations by calling
                # its other methods, which are not round trips.
                if not depth:
                    calls.append(name)
                depth.append(name)
                try:
                    return await originals[name](*args, **kwargs)
                finally:
                    depth.pop()

            return counted

        setattr(state, name, wrap())
    try:
        pending = await client.post(TOKEN, json=body)
        pending_calls = list(calls)
        calls.clear()
        too_soon = await client.post(TOKEN, json=body)
    finally:
        for name, original in originals.items():
            setattr(state, name, original)
    assert pending.json() == {"error": "authorization_pending"}
    assert pending_calls == ["exchange", "batch"]
    assert too_soon.json() == {"error": "slow_down"}
    assert calls == ["exchange"]


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
    key = state_key(started["device_code"])
    state = decode_state(await host.state.get(key))
    store = runtime_of(host).store
    for sealed in (
        store.seal_payload(code_hash(started["device_code"]), {"token_id": "x"}),  # no token
        store.seal_payload(code_hash(UNKNOWN_CODE), {"token": "dfoa_x", "token_id": "x"}),  # another code's
        "bm90IHNlYWxlZA",  # not sealed at all
    ):
        broken = msgspec.structs.replace(state, status="approved", sealed_payload=sealed)
        await host.state.set(key, encode_state(broken), ttl=900)
        assert (await poll(client, started["device_code"])).json() == {"error": "expired_token"}


async def test_corrupt_state_is_expired_token(client, host):
    """A state that is not valid JSON behaves like an expired one."""
    await host.state.set(state_key(UNKNOWN_CODE), b"{not json", ttl=900)
    assert (await poll(client, UNKNOWN_CODE)).json() == {"error": "expired_token"}


async def test_revoked_between_approve_and_poll_is_access_denied(client, host):
    """If the minted row is revoked before the poll, the poll answers access_denied, not a dead token."""
    _, _, started = await _approved(client, host)
    (row,) = await token_rows(host)
    await set_row(host, row.id, revoked_at=datetime.datetime.now(datetime.UTC), token_hash=None)
    assert (await poll(client, started["device_code"])).json() == {"error": "access_denied"}


async def test_cross_ip_poll_is_audited_not_blocked(client, host):
    """A poll from another IP than the code's creator succeeds and is audited with both IPs."""
    recorder = record_audit(host)
    _, _, started = await _approved(client, host)
    key = state_key(started["device_code"])
    state = decode_state(await host.state.get(key))
    moved = msgspec.structs.replace(state, created_ip="10.9.8.7")
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


async def test_state_store_holds_nothing_usable_after_approval(client, host):
    """Between approval and poll, the state store holds neither the token, nor its hash, nor the
    device code, nor the account's email: the payload is sealed. The poll still gets the token."""
    alice, _, started = await _approved(client, host)
    dump = await _everything_in_the_state_store(host)
    response = await poll(client, started["device_code"])
    token = response.json()["token"]
    for secret in (token, hash_token(token), started["device_code"], alice.email):
        assert secret.encode() not in dump


async def test_an_undelivered_token_neither_authenticates_nor_lists(client, host):
    """A token minted by an approval whose poll has not come yet is invisible: it does not
    authenticate and is not a session; the poll that hands it over makes it live."""
    _, _, started = await _approved(client, host)
    (row,) = await token_rows(host)
    assert row.delivered_at is None and row.revoked_at is None
    token = (await poll(client, started["device_code"])).json()["token"]
    (row,) = await token_rows(host)
    assert row.delivered_at is not None
    sessions = await client.get("/openapi/v1/account/sessions", headers=bearer(token))
    assert [s["id"] for s in sessions.json()["data"]] == [str(row.id)]


async def _everything_in_the_state_store(host) -> bytes:
    """Every key and value the test's app wrote (memory: the dict; Redis: its keys under the prefix)."""
    state = host.state
    if hasattr(state, "_values"):
        return b"".join(key.encode() + value for key, (value, _) in state._values.items())
    redis = state._redis
    chunks = []
    async for key in redis.scan_iter(match=state._prefix + "*"):
        chunks.append(key)
        if await redis.type(key) == b"string":
            chunks.append(await redis.get(key) or b"")
    return b"".join(chunks)
