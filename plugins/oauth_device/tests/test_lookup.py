"""GET /openapi/v1/oauth/device/lookup (§1.4, rows #3) and the wrong-code lockout (§5)."""

from __future__ import annotations

import datetime

import msgspec

from core.testing import factories

from .helpers import DEVICE, decide, pending_code, poll

LOOKUP = f"{DEVICE}/lookup"


async def _start(client, label="difyctl on laptop"):
    return (await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": label})).json()


async def test_pending_code_is_valid_with_real_remaining_and_label(client, runtime):
    """A pending code is valid, with its real remaining lifetime, client id and device label."""
    started = await _start(client)
    runtime.clock = (lambda base: lambda: base + 100)(runtime.clock())
    body = (await client.get(LOOKUP, params={"user_code": started["user_code"]})).json()
    assert body["valid"] is True and body["client_id"] == "difyctl"
    assert body["device_label"] == "difyctl on laptop"
    assert 795 <= body["expires_in_remaining"] <= 800


async def test_pending_code_says_when_and_from_where_it_was_requested(client, runtime):
    """For the /device page to show beside the device's own words: when the code was requested (UTC),
    from which address, and whether the lookup comes from that address. A code requested elsewhere (as
    a phisher's would be) says it is not this address."""
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    started = await _start(client)
    body = (await client.get(LOOKUP, params={"user_code": started["user_code"]})).json()
    requested = datetime.datetime.fromisoformat(body["requested_at"].replace("Z", "+00:00"))
    assert body["requested_at"].endswith("Z")
    assert before <= requested <= datetime.datetime.now(datetime.UTC)
    assert body["requested_from"] == "127.0.0.1"  # the test client's peer address
    assert body["requested_from_this_address"] is True

    # The same code, as if requested from another network: rewrite the stored requester's address.
    loaded = await runtime.store.load_by_user_code(started["user_code"])
    assert loaded is not None
    elsewhere = msgspec.structs.replace(loaded.state, created_ip="203.0.113.9")
    await runtime.store.create(loaded.code_hash, elsewhere)
    body = (await client.get(LOOKUP, params={"user_code": started["user_code"]})).json()
    assert body["requested_from"] == "203.0.113.9"
    assert body["requested_from_this_address"] is False


async def test_unknown_code_is_invalid_without_client(client):
    """An unknown code answers 200 valid:false, 0 s, client_id null."""
    response = await client.get(LOOKUP, params={"user_code": "ABCD-EFGH"})
    assert response.status_code == 200
    assert response.json() == {
        "valid": False,
        "expires_in_remaining": 0,
        "client_id": None,
        "device_label": None,
        "requested_at": None,
        "requested_from": None,
        "requested_from_this_address": None,
    }


async def test_resolved_code_is_invalid_with_client(client, host):
    """A denied (or approved) code answers valid:false with its client id."""
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    started, csrf = await pending_code(client, alice)
    await decide(client, csrf, started["user_code"], "deny")
    body = (await client.get(LOOKUP, params={"user_code": started["user_code"]})).json()
    assert body["valid"] is False and body["client_id"] == "difyctl" and body["expires_in_remaining"] == 0
    # Nothing about the device or its requester once the request is answered.
    assert body["device_label"] is None and body["requested_from"] is None and body["requested_at"] is None


async def test_missing_user_code_is_bad_request(client):
    """Without the user_code parameter the lookup answers 400 bad_request (E2)."""
    response = await client.get(LOOKUP)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


async def test_a_repeated_user_code_is_bad_request(client):
    """Two user codes in one lookup have no one answer: 400 bad_request naming the parameter, like
    any other bad field of this route."""
    response = await client.get(f"{LOOKUP}?user_code=ABCD-EFGH&user_code=JKLM-NPQR")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_request"
    repeated = {"loc": ["query", "user_code"], "type": "repeated", "msg": "given more than once"}
    assert body["details"] == [repeated]


async def test_user_code_spellings_are_normalised(client):
    """Lower case, no hyphen, spaces or other separators all find the code (RFC 8628 §6.1)."""
    code = (await _start(client))["user_code"]
    raw = code.replace("-", "")
    for spelling in (code.lower(), raw, f" {raw[:4]} {raw[4:]} ", f"{raw[:2]}.{raw[2:6]}_{raw[6:]}"):
        body = (await client.get(LOOKUP, params={"user_code": spelling})).json()
        assert body["valid"] is True, spelling
    for wrong in (raw[:7], raw + "A", "IIII-OOOO"):
        assert (await client.get(LOOKUP, params={"user_code": wrong})).json()["valid"] is False


async def test_rate_limit_is_sixty_per_five_minutes(client):
    """The 61st lookup in five minutes from one IP answers 429 (its own bucket)."""
    code = (await _start(client))["user_code"]
    for _ in range(60):
        assert (await client.get(LOOKUP, params={"user_code": code})).status_code == 200
    response = await client.get(LOOKUP, params={"user_code": code})
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_requests"
    # device/code has its own bucket: still open.
    assert (
        await client.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "x"})
    ).status_code == 200


async def test_ten_wrong_codes_lock_the_ip_out(client):
    """After 10 wrong codes in 15 minutes the IP gets 429 for 15 minutes, even for a right code."""
    code = (await _start(client))["user_code"]
    for index in range(10):
        response = await client.get(LOOKUP, params={"user_code": f"AAAA-AAA{'ABCDEFGHJK'[index]}"})
        assert response.status_code == 200
    locked = await client.get(LOOKUP, params={"user_code": code})
    assert locked.status_code == 429
    assert 800 < int(locked.headers["retry-after"]) <= 900


async def test_wrong_codes_on_approve_count_towards_the_lockout(client, host):
    """Misses on approve and deny count too; the lockout then also answers 429 there."""
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    started, csrf = await pending_code(client, alice)
    for index in range(5):
        assert (await decide(client, csrf, f"BBBB-BBB{'ABCDE'[index]}")).status_code == 404
    for index in range(5):
        assert (await decide(client, csrf, f"CCCC-CCC{'ABCDE'[index]}", "deny")).status_code == 404
    assert (await decide(client, csrf, started["user_code"])).status_code == 429
    assert (await client.get(LOOKUP, params={"user_code": started["user_code"]})).status_code == 429


async def test_a_used_code_is_not_a_guess(client, host):
    """Once its device has received the answer, a code submitted again (a late click, a second tab) is
    told it was used, and never counts towards the wrong-code lockout: twelve late submissions later
    the address is not locked out."""
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    started, csrf = await pending_code(client, alice)
    assert (await decide(client, csrf, started["user_code"])).status_code == 200
    assert (await poll(client, started["device_code"])).status_code == 200  # delivered: the flow is over
    for action in ("approve", "deny") * 4:
        late = await decide(client, csrf, started["user_code"], action)
        assert late.status_code == 409 and late.json() == {"error": "already_resolved"}
    for _ in range(4):
        body = (await client.get(LOOKUP, params={"user_code": started["user_code"]})).json()
        assert body["valid"] is False
    fresh = await pending_code(client, alice)
    assert (await client.get(LOOKUP, params={"user_code": fresh[0]["user_code"]})).json()["valid"] is True
