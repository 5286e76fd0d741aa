"""Hostile input never reaches a 500: every answer is a 4xx in the documented shape, and never echoes
the input back. Run on both backends (a NUL byte used to fail on PostgreSQL only)."""

from __future__ import annotations

import pytest
from litestar.routes import HTTPRoute

from core.testing import factories
from plugins.oauth_device.tests.helpers import device_login
from tests.support.tokens import bearer, console_login

DEEP = b'{"a":' * 1000 + b"1" + b"}" * 1000  # 2 KB that used to raise RecursionError in the decoder
DEEP_LIST = b"[" * 100_000 + b"]" * 100_000


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert body["code"] == code and body["status"] == status, body
    return body


@pytest.fixture
async def signed_in(client, host):
    """A console session (so cookie-guarded routes read their body) and a live bearer token."""
    alice = await factories.person(host, email="hostile@example.com")
    await factories.workspace(host, "Hostile Inc", (alice, "owner"))
    token = (await device_login(client, alice))["token"]
    csrf = await console_login(client, alice)
    return {"X-CSRF-Token": csrf, **bearer(token)}


async def test_deeply_nested_json_is_400_on_every_post_route(app, client, signed_in):
    """JSON nested 1,000 (or 100,000) deep answers 400 bad_request on every POST route of the server that
    reads a body, signed in so that guarded routes read it too: never a RecursionError."""
    posts = sorted(
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if "POST" in handler.http_methods and "data" in handler.parsed_fn_signature.parameters
    )
    assert len(posts) >= 6, posts
    for path in posts:
        for body in (DEEP, DEEP_LIST):
            headers = {**signed_in, "Content-Type": "application/json"}
            response = await client.post(path, content=body, headers=headers)
            assert response.status_code == 400, (path, response.status_code, response.text[:200])
            assert response.json().get("code") == "bad_request" or "error" in response.json()


async def test_nul_characters_are_refused_everywhere(client, signed_in):
    """A NUL (which PostgreSQL cannot store) in a JSON string, a form field, the query string or the
    path answers 400 bad_request, before any statement sees it."""
    login = await client.post("/console/api/login", json={"email": "a\u0000@example.com", "password": "x"})
    assert _error(login, 400, "bad_request")["message"] == "the request body contains a NUL character"
    form = await client.post("/openapi/v1/oauth/revoke", data={"token": "dfoa_\x00"})
    assert form.status_code == 400
    for path in (
        "/openapi/v1/apps?workspace_id=00000000-0000-0000-0000-000000000000&name=%00",
        "/openapi/v1/apps?workspace_id=00000000-0000-0000-0000-000000000000&tag=a%00b",
        "/openapi/v1/apps/%00/describe",
        "/openapi/v1/workspaces/%00",
        "/static/oauth_device/%00",
    ):
        response = await client.get(path, headers=signed_in)
        body = _error(response, 400, "bad_request")
        assert "%00" not in response.text and "\\u0000" not in response.text, body
    # An escaped backslash followed by "u0000" is the text \u0000, not a NUL: it is fine.
    text = await client.post(
        "/console/api/login",
        content=b'{"email": "a\\\\u0000@example.com", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert text.status_code == 401


async def test_trailing_slashes_are_not_found(client, signed_in):
    """Routes are declared without a trailing slash and answer 404 with one (spec: /apps/ is 404)."""
    for path in ("/openapi/v1/apps/", "/openapi/v1/workspaces/", "/openapi/v1/account/", "/healthz/"):
        response = await client.get(path, headers=signed_in)
        body = _error(response, 404, "not_found")
        assert body["message"] == "not found"
        if path.startswith("/openapi/v1"):  # refused early, still never framed
            assert response.headers["x-frame-options"] == "DENY"
    assert (await client.get("/openapi/v1/workspaces", headers=signed_in)).status_code == 200


async def test_request_bodies_are_capped(client):
    """A body over http.max_body_bytes (1 MiB) answers 413 before anything decodes it."""
    huge = b'{"client_id": "difyctl", "device_label": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/openapi/v1/oauth/device/code", content=huge, headers={"Content-Type": "application/json"}
    )
    _error(response, 413, "request_entity_too_large")


async def test_out_of_range_pages_are_422_on_every_list(client, signed_in, host):
    """A page past the declared bound (1,000,000) is a 422 on every list, on both databases; the
    bound itself still answers (an empty page), so no offset ever overflows."""
    workspace = (await client.get("/openapi/v1/workspaces", headers=signed_in)).json()["workspaces"][0]["id"]
    lists = ("/openapi/v1/account/sessions", f"/openapi/v1/apps?workspace_id={workspace}")
    for path in lists:
        separator = "&" if "?" in path else "?"
        for page in ("100000000", str(2**63), "-1", "0", "9" * 400):
            response = await client.get(f"{path}{separator}page={page}", headers=signed_in)
            assert response.status_code == 422, (path, page, response.text[:200])
            assert response.json()["details"][0]["loc"] == ["page"]
        last = await client.get(f"{path}{separator}page=1000000&limit=200", headers=signed_in)
        assert last.status_code == 200 and last.json()["data"] == [], (path, last.text[:200])


async def test_static_files_answer_plain_404s_that_echo_nothing(client):
    """Under /static only the files the plugins' static folders held at startup exist: a long or odd
    name, a climb out of the folder, or an unknown plugin is a 404 ErrorBody that does not repeat the
    request, never a 500."""
    names = ("x" * 300, "..%2f..%2fpyproject.toml", "../../x.toml", "device.js.map", "%2e%2e", "dévice.js")
    paths = [f"/static/oauth_device/{name}" for name in names]
    for path in [*paths, "/static/core/x", "/static/../pyproject.toml"]:
        response = await client.get(path)
        body = _error(response, 404, "not_found")
        assert body["message"] == "not found" and "pyproject" not in response.text
    assert (await client.get("/static/oauth_device/device.js")).status_code == 200


async def test_out_of_range_numbers_and_huge_strings_are_4xx(client, signed_in):
    """Numbers past 64 bits and strings past their declared length are validation errors."""
    workspace = (await client.get("/openapi/v1/workspaces", headers=signed_in)).json()["workspaces"][0]["id"]
    for query in (f"limit={2**70}", "limit=-5", "name=" + "n" * 5000, "mode=" + "m" * 300):
        response = await client.get(f"/openapi/v1/apps?workspace_id={workspace}&{query}", headers=signed_in)
        assert response.status_code == 422, (query[:30], response.text[:200])
    long_code = await client.get("/openapi/v1/oauth/device/lookup", params={"user_code": "A" * 10_000})
    assert long_code.status_code == 400 and long_code.json()["code"] == "bad_request"


async def test_validation_errors_never_repeat_the_input(client, signed_in):
    """A 422 names the parameter that is wrong, never its value, and names at most a few unknown
    parameters (each cut short): hundreds of them in a request give a short answer."""
    workspace = (await client.get("/openapi/v1/workspaces", headers=signed_in)).json()["workspaces"][0]["id"]
    script = "<script>alert(1)</script>"
    mode = await client.get(f"/openapi/v1/apps?workspace_id={workspace}&mode={script}", headers=signed_in)
    assert mode.status_code == 422 and "script" not in mode.text
    many = "&".join(f"k{i}{'x' * 80}=1" for i in range(600))  # ~50 KB, under httpx's URL limit
    for path in ("/openapi/v1/account/sessions", f"/openapi/v1/apps/{uuid_like()}/describe"):
        response = await client.get(f"{path}?{many}", headers=signed_in)
        assert response.status_code == 422, response.text[:200]
        assert len(response.content) < 2000
        assert "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" not in response.text


def uuid_like() -> str:
    return "00000000-0000-0000-0000-000000000000"
