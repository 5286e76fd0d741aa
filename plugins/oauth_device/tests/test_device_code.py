"""POST /openapi/v1/oauth/device/code (§1.2, status table rows #1)."""

from __future__ import annotations

import re

from core.app import build_context, create_app
from plugins.oauth_device.codes import USER_CODE_ALPHABET
from plugins.oauth_device.device_state import code_hash, user_key
from plugins.oauth_device.tests.helpers import DEVICE

CODE = f"{DEVICE}/code"
BODY = {"client_id": "difyctl", "device_label": "difyctl on laptop"}


async def test_code_success_shape(client):
    """A known client gets a device code, a XXXX-XXXX user code, the /device URI, 900 s and 5 s."""
    response = await client.post(CODE, json=BODY)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"device_code", "user_code", "verification_uri", "expires_in", "interval"}
    assert re.fullmatch(r"dc_[A-Za-z0-9_-]{32}", body["device_code"])
    assert re.fullmatch(f"[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}", body["user_code"])
    assert body["verification_uri"] == "http://testserver.local/device"
    assert body["expires_in"] == 900 and body["interval"] == 5
    assert "verification_uri_complete" not in body


async def test_verification_uri_uses_console_web_url(make_settings):
    """CONSOLE_WEB_URL (trailing slash dropped) decides the verification URI when set."""
    import httpx

    ctx = build_context(make_settings(console_web_url="https://console.example.com/"))
    app = create_app(ctx=ctx)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://internal:5001") as http:
            response = await http.post(CODE, json=BODY)
        assert response.json()["verification_uri"] == "https://console.example.com/device"
    finally:
        await ctx.state.close()
        await ctx.engine.dispose()


async def test_verification_uri_complete_only_when_the_operator_turns_it_on(make_settings):
    """With ``verification_uri_complete = true`` the answer also carries the /device link with the code
    (RFC 8628 §3.3.1), built from configuration like the plain URI; the page pre-fills that code."""
    import httpx

    overrides = {
        "console_web_url": "https://console.example.com",
        "plugin.oauth_device.verification_uri_complete": True,
    }
    ctx = build_context(make_settings(**overrides))
    app = create_app(ctx=ctx)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as http:
            body = (await http.post(CODE, json=BODY)).json()
            page = await http.get(body["verification_uri_complete"].removeprefix("https://console.example.com"))
        link = f"https://console.example.com/device?user_code={body['user_code']}"
        assert body["verification_uri_complete"] == link
        assert f'value="{body["user_code"]}"' in page.text
    finally:
        await ctx.state.close()
        await ctx.engine.dispose()


async def test_links_never_come_from_the_host_header(make_settings):
    """A forged Host header changes neither the verification URI nor the RFC 8414 issuer: both come
    from configuration (console_web_url / console_api_url), else the server's own bind address."""
    import httpx

    cases = [
        ({"console_web_url": "https://console.example.com"}, "https://console.example.com"),
        ({"console_web_url": "", "server.host": "0.0.0.0", "server.port": 5009}, "http://127.0.0.1:5009"),
    ]
    for overrides, expected in cases:
        ctx = build_context(make_settings(**overrides))
        app = create_app(ctx=ctx)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as http:
                forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
                started = (await http.post(CODE, json=BODY, headers=forged)).json()
                metadata = (await http.get("/.well-known/oauth-authorization-server", headers=forged)).json()
            assert started["verification_uri"] == f"{expected}/device"
            assert metadata["issuer"] == expected
            assert metadata["token_endpoint"] == f"{expected}/openapi/v1/oauth/device/token"
        finally:
            await ctx.state.close()
            await ctx.engine.dispose()


async def test_rate_limit_runs_before_body_validation(client):
    """The 61st request in an hour from one IP is 429 even with an invalid body."""
    for _ in range(60):
        assert (await client.post(CODE, content=b"not json")).status_code == 400
    response = await client.post(CODE, json=BODY)
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_requests"
    assert int(response.headers["retry-after"]) >= 1


async def test_missing_or_non_string_fields_are_bad_request(client):
    """Missing fields, non-strings and non-JSON bodies answer 400 bad_request (E2)."""
    for kwargs in (
        {"json": {"client_id": "difyctl"}},
        {"json": {"device_label": "x"}},
        {"json": {"client_id": 1, "device_label": "x"}},
        {"json": ["difyctl"]},
        {"content": b"{broken"},
        {},
    ):
        response = await client.post(CODE, **kwargs)
        assert response.status_code == 400, kwargs
        assert response.json()["code"] == "bad_request"


async def test_empty_or_overlong_label_is_bad_request(client):
    """An empty label, one over 255 characters, or one with a control, format (invisible or bidi),
    private-use or separator character, or nothing visible (which could hide or reorder what the
    approver reads) is refused with 400; the rest of Unicode is fine."""
    unicode_label = {"client_id": "difyctl", "device_label": "difyctl on Zoë's Mac 💻"}
    assert (await client.post(CODE, json=unicode_label)).status_code == 200
    hidden = (
        "\u061c", "a\u2028b", "\u200b", "\u3164", "\u2800", "a\U000e0020b", "a\u200db", "\ufeffa",
        "a\u00adb", "a\u2060b", "x\U000f0000",
    )  # bidi marks, separators, zero-width, blank lookalikes, tags, soft hyphen, BOM, private use
    controls = ("difyctl on\nhost", "a\x1b[2Jb", "bell\x07", "on \u202emoc.live")
    for label in ("", "   ", "x" * 256, *controls, *hidden):
        response = await client.post(CODE, json={"client_id": "difyctl", "device_label": label})
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"


async def test_unknown_client_is_unsupported_client(client):
    """A client_id outside OPENAPI_KNOWN_CLIENT_IDS answers 400 {"error": "unsupported_client"}."""
    response = await client.post(CODE, json={"client_id": "other-cli", "device_label": "x"})
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_client"}


async def test_form_encoded_body_is_accepted(client):
    """RFC 8628's form encoding works as well as JSON."""
    response = await client.post(CODE, data=BODY)
    assert response.status_code == 200
    assert response.json()["interval"] == 5


async def test_user_code_exhausted_after_five_collisions(client, host, monkeypatch):
    """Five user-code collisions in a row answer 503 {"error": "user_code_exhausted"}."""
    from plugins.oauth_device import device_state

    await host.state.set(user_key("AAAA-AAAA"), b"dc_taken", ttl=900)
    monkeypatch.setattr(device_state, "new_user_code", lambda: "AAAA-AAAA")
    response = await client.post(CODE, json=BODY)
    assert response.status_code == 503
    assert response.json() == {"error": "user_code_exhausted"}


async def test_user_code_is_claimed_for_the_device_code(client, host):
    """The user code maps to the device code's hash (never the code) in the state store for 900 s."""
    body = (await client.post(CODE, json=BODY)).json()
    assert await host.state.get(user_key(body["user_code"])) == code_hash(body["device_code"]).encode()
    assert 890 < (await host.state.ttl(user_key(body["user_code"]))) <= 900
