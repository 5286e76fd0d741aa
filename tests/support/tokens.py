"""What any test client does to be let in: sign in to the console, send a bearer token; and the host
behind a test client.

Tokens come from the plugin under test's own means, or from the ``token_issuer`` test plugin
(core/testing/token_issuer.py). How a login plugin mints them (its routes, its state) is that
plugin's tests' business (e.g. plugins/oauth_device/tests/helpers.py).
"""

from __future__ import annotations

from typing import Any

from core.testing.factories import Person


def host_of(client: Any) -> Any:
    """The HostContext behind a test client (Litestar's AsyncTestClient or httpx over ASGITransport)."""
    app = getattr(client, "app", None) or getattr(getattr(client, "_transport", None), "app", None)
    return app.state.host


async def console_login(client: Any, person: Person) -> str:
    """Sign in to the console; return the CSRF token the page would copy into X-CSRF-Token."""
    response = await client.post(
        "/console/api/login", json={"email": person.email, "password": person.password}
    )
    assert response.status_code in (200, 201), response.text
    csrf = client.cookies.get("csrf_token") or client.cookies.get("__Host-csrf_token")
    assert csrf, "login set no csrf_token cookie"
    return csrf


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
