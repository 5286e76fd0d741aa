"""The /device page as a browser first receives it: headers, the view it opens on, what it pre-fills."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from core.app import create_app
from core.context import HostContext
from core.hookspecs import hookimpl
from core.services import ExternalSignIn, ExternalSignInRoutes
from core.testing import factories


def view_tag(html: str, name: str) -> str:
    match = re.search(rf'<section[^>]*data-view="{name}"[^>]*>', html)
    assert match, f"view {name!r} missing from the page"
    return match.group(0)


def visible(html: str, name: str) -> bool:
    return " hidden" not in view_tag(html, name)


def field_value(html: str, field_id: str) -> str:
    match = re.search(rf'<input id="{field_id}"[^>]*?value="([^"]*)"', html, re.S)
    assert match, f"input {field_id!r} missing"
    return match.group(1)


async def sign_in(client: AsyncTestClient, host: HostContext, workspace: str = "Acme Research") -> Any:
    person = await factories.person(host)
    await factories.workspace(host, workspace, (person, "owner"))
    # The test client serves requests on its own event loop: hand it a pool without this loop's
    # connections (asyncpg connections cannot cross loops).
    await host.engine.dispose()
    credentials = {"email": person.email, "password": person.password}
    response = await client.post("/console/api/login", json=credentials)
    assert response.status_code in (200, 201)
    return person


async def test_page_is_html_and_never_framed(client: AsyncTestClient) -> None:
    """GET /device answers an HTML page that forbids framing, caching and referrers."""
    response = await client.get("/device")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in response.headers["cache-control"]
    assert '<html lang="en">' in response.text


async def test_signed_out_visitor_starts_with_the_code_not_a_sign_in(client: AsyncTestClient) -> None:
    """Without a console session the page opens on the code field: the visitor sees what asks for
    access before being asked to sign in. The sign-in form is there, hidden, for after the check;
    the account line and Approve/Deny are hidden, "Sign in to approve or deny" shown instead."""
    html = (await client.get("/device")).text
    assert visible(html, "code")
    assert not visible(html, "signin")
    assert "You will see what is asking for access before you sign in" in html
    assert re.search(r'<p class="account" data-when="signed-in" hidden>', html)
    assert re.search(r'<div class="actions" data-when="signed-in" hidden>', html)
    assert re.search(r'<div class="actions" data-when="signed-out">', html)
    assert "Sign in to approve or deny</button>" in html
    assert '<label for="signin-email">Email</label>' in html
    assert 'autocomplete="current-password"' in html
    assert "Sign in with SSO" not in html  # no enterprise plugin reports SSO
    assert view_tag(html, "not-mine")  # the way out for a request the visitor did not start


async def test_signed_in_user_sees_the_code_form(client: AsyncTestClient, host: HostContext) -> None:
    """With a console session the page opens on the code field and names the account and workspace."""
    person = await sign_in(client, host)
    html = (await client.get("/device")).text
    assert visible(html, "code")
    assert not visible(html, "signin")
    assert re.search(r'<p class="account" data-when="signed-in">', html)
    assert re.search(r'<div class="actions" data-when="signed-out" hidden>', html)
    assert person.email in html
    assert "Acme Research" in html
    assert '<label for="user-code">Code shown in your terminal</label>' in html


async def test_the_approval_says_what_the_token_reaches_and_that_the_label_is_the_devices_word(
    client: AsyncTestClient, host: HostContext
) -> None:
    """The sign-in line no longer pairs the account with one workspace (the token reaches them all);
    the confirmation says so, says how long it lasts, and presents the device's label as its own
    description. A denial says what to do when the request was not yours."""
    person = await sign_in(client, host)
    html = (await client.get("/device")).text
    assert f"Signed in as <strong data-bind=\"account-email\">{person.email}</strong>." in html
    assert "Acme Research</span> among them" in html  # named only as one of all the workspaces
    assert "Every workspace of this account" in html and "for 14 days" in html
    assert "Device, as it describes itself" in html and 'class="unverified"' in html
    assert "difyctl auth devices list" in html  # the denied view's way out
    account_line = html.split("Signed in as", 1)[1].split("Not you?", 1)[0]
    assert "Acme Research" not in account_line


async def test_forged_session_cookie_is_treated_as_signed_out(client: AsyncTestClient) -> None:
    """A cookie that is not a valid passport is treated as signed out, never as an error."""
    client.cookies.set("access_token", "not-a-jwt")
    response = await client.get("/device")
    assert response.status_code == 200
    assert 'data-signed-in="false"' in response.text
    assert re.search(r'<div class="actions" data-when="signed-in" hidden>', response.text)


async def test_user_code_query_prefills_normalised_code(client: AsyncTestClient, host: HostContext) -> None:
    """?user_code= in lower case without the hyphen is shown as XXXX-XXXX in the field."""
    await sign_in(client, host)
    html = (await client.get("/device", params={"user_code": " bdjk mpqr "})).text
    assert field_value(html, "user-code") == "BDJK-MPQR"


async def test_user_code_query_is_escaped(client: AsyncTestClient) -> None:
    """Markup in ?user_code= is escaped, so a crafted link cannot inject script."""
    response = await client.get("/device", params={"user_code": '"><script>alert(1)</script>'})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;" in response.text


async def test_every_state_has_a_view(client: AsyncTestClient) -> None:
    """The page carries a labelled view for each outcome the script can reach, all hidden at first."""
    html = (await client.get("/device")).text
    for name in (
        "confirm",
        "approved",
        "denied",
        "error-invalid",
        "error-used",
        "error-rate-limited",
        "error-busy",
        "error-state-lost",
        "error-outcome-unknown",
        "error-failed",
        "error-sso",
        "not-mine",
    ):
        tag = view_tag(html, name)
        assert " hidden" in tag
        assert f'aria-labelledby="{name}-title"' in tag
    assert 'role="status" aria-live="polite"' in html


async def test_sso_error_opens_the_sso_error_view(client: AsyncTestClient) -> None:
    """?sso_error=<code> opens the single-sign-on error view; anything but a plain code shows 'unknown'."""
    html = (await client.get("/device", params={"sso_error": "invalid_user_code"})).text
    assert visible(html, "error-sso")
    assert "invalid_user_code" in html
    html = (await client.get("/device", params={"sso_error": "<b>x</b>"})).text
    assert visible(html, "error-sso")
    assert "<b>x</b>" not in html
    assert ">unknown<" in html


async def test_script_and_stylesheet_are_served(client: AsyncTestClient) -> None:
    """The page links its own script and stylesheet from the plugin's static folder, versioned by
    content: that URL is kept for a year, an unversioned one is checked again, an unchanged file is 304."""
    html = (await client.get("/device")).text
    assets = re.findall(r'(?:src|href)="(/static/oauth_device/[^"?]+)\?v=([0-9a-f]{12})"', html)
    assert sorted(path.rsplit("/", 1)[1] for path, _ in assets) == ["device.css", "device.js"]
    for path, version in assets:
        response = await client.get(f"{path}?v={version}")
        assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["etag"] == f'"{version}"'
        assert (await client.get(path)).headers["cache-control"] == "no-cache"
        again = await client.get(path, headers={"If-None-Match": f'"{version}"'})
        assert again.status_code == 304 and again.content == b""
    script = await client.get("/static/oauth_device/device.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "history.replaceState" in script.text


class _ExternalSignIn:
    """A stand-in enterprise plugin offering single sign-on while ``offered`` is true."""

    def __init__(self) -> None:
        self.offered = True

    async def routes(self) -> ExternalSignInRoutes | None:
        if not self.offered:
            return None
        return ExternalSignInRoutes(start="/sso/start", context="/sso/context", approve="/sso/approve")

    @hookimpl
    def external_sign_in(self, ctx: HostContext) -> _ExternalSignIn:
        return self


async def test_hook_external_sign_in(host: HostContext) -> None:
    """While a plugin offers external sign-in, the sign-in view offers 'Sign in with SSO' at the
    plugin's start route, and the script learns its context and approval routes from the page."""
    provider = _ExternalSignIn()
    assert isinstance(provider, ExternalSignIn)
    host.plugins.manager.register(provider, name="test_external_sign_in")
    async with AsyncTestClient(app=create_app(ctx=host), base_url="http://testserver.local") as client:
        html = (await client.get("/device", params={"user_code": "bdjkmpqr"})).text
        assert "Sign in with SSO" in html
        assert 'action="/sso/start"' in html
        assert 'data-sso-context="/sso/context" data-sso-approve="/sso/approve"' in html
        assert visible((await client.get("/device", params={"sso_verified": "1"})).text, "loading")
        provider.offered = False  # e.g. the license lapsed
        html = (await client.get("/device", params={"user_code": "bdjkmpqr"})).text
        assert "Sign in with SSO" not in html and "data-sso-context" not in html
        # Back from an identity provider that is no longer offered: the SSO error, not a spinner.
        assert visible((await client.get("/device", params={"sso_verified": "1"})).text, "error-sso")
        provider.offered = True
        html = (await client.get("/device", params={"user_code": "bdjkmpqr"})).text
    assert field_value(html, "sso-code") == "BDJK-MPQR"
