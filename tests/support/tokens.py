"""Real device logins over HTTP, for any test that needs a ``dfoa_`` token.

``device_login`` walks the whole flow a difyctl user walks: start a device code, sign in to the
console, approve with the CSRF header, poll. It returns the poll payload (``token``, ``token_id``,
``account``, ``workspaces`` ...).
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.auth.bearer import hash_token
from tests.support.factories import Person

DEVICE = "/openapi/v1/oauth/device"


def host_of(client: Any) -> Any:
    """The HostContext behind a test client (Litestar's AsyncTestClient or httpx over ASGITransport)."""
    app = getattr(client, "app", None) or getattr(getattr(client, "_transport", None), "app", None)
    return app.state.host


def _last_poll_key(device_code: str) -> str:
    # The plugin's key: the SHA-256 of the code, never the code (plugins/oauth_device/device_state.py).
    return f"device_code:{hash_token(device_code)}:last_poll"


async def console_login(client: Any, person: Person) -> str:
    """Sign in to the console; return the CSRF token the page would copy into X-CSRF-Token."""
    response = await client.post(
        "/console/api/login", json={"email": person.email, "password": person.password}
    )
    assert response.status_code in (200, 201), response.text
    csrf = client.cookies.get("csrf_token") or client.cookies.get("__Host-csrf_token")
    assert csrf, "login set no csrf_token cookie"
    return csrf


async def start_device_code(
    client: Any, *, client_id: str = "difyctl", label: str = "difyctl on test-host"
) -> dict[str, Any]:
    response = await client.post(f"{DEVICE}/code", json={"client_id": client_id, "device_label": label})
    assert response.status_code == 200, response.text
    return response.json()


async def approve(client: Any, csrf: str, user_code: str) -> None:
    response = await client.post(
        f"{DEVICE}/approve", json={"user_code": user_code}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text


async def poll(client: Any, device_code: str, client_id: str = "difyctl") -> Any:
    """One poll, with the slow-down marker cleared first so back-to-back polls are never throttled."""
    await host_of(client).state.delete(_last_poll_key(device_code))
    return await client.post(f"{DEVICE}/token", json={"device_code": device_code, "client_id": client_id})


async def device_login(
    client: Any,
    person: Person,
    *,
    client_id: str = "difyctl",
    label: str = "difyctl on test-host",
) -> dict[str, Any]:
    """Run the real flow over HTTP and return the poll payload (with ``token``).

    The person needs a workspace (an account without one cannot approve: 401, as in Dify).
    """
    started = await start_device_code(client, client_id=client_id, label=label)
    csrf = await console_login(client, person)
    approve_response = None
    for _ in range(20):  # an earlier login for the same device may still hold the approval guard
        approve_response = await client.post(
            f"{DEVICE}/approve", json={"user_code": started["user_code"]}, headers={"X-CSRF-Token": csrf}
        )
        if (
            approve_response.status_code != 409
            or approve_response.json().get("error") != "approve_in_progress"
        ):
            break
        await asyncio.sleep(0.05)
    assert approve_response is not None and approve_response.status_code == 200, approve_response.text
    response = await poll(client, started["device_code"], client_id)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload.get("token"), payload
    return payload


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
