"""Helpers of the plugin's tests: the device flow over HTTP, direct token rows, approval shortcuts.

``device_login`` walks the whole flow a difyctl user walks: start a device code, sign in to the
console, approve with the CSRF header, poll. It returns the poll payload (``token``, ``token_id``,
``account``, ``workspaces`` ...). Tests of other plugins get tokens from the ``token_issuer`` test
plugin instead; integration tests (tests/integration/) may import these.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

from sqlalchemy import select, update

from core.auth.bearer import hash_token
from core.testing.factories import Person
from plugins.oauth_device.codes import EXTERNAL_PREFIX, new_token
from plugins.oauth_device.device_state import code_hash, last_poll_key
from plugins.oauth_device.models import OAuthAccessToken
from tests.support.audit import AuditRecorder, record_audit
from tests.support.tokens import console_login, host_of

DEVICE = "/openapi/v1/oauth/device"
TABLE = OAuthAccessToken.__table__


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
    await host_of(client).state.delete(last_poll_key(code_hash(device_code)))
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


async def insert_external_token(
    host: Any, email: str = "sso@partner.com", issuer: str = "https://idp.partner.com", **kw: Any
) -> tuple[str, uuid.UUID]:
    """A dfoe_ row as the enterprise plugin would mint it (CE never does)."""
    token = new_token(EXTERNAL_PREFIX)
    now = datetime.datetime.now(datetime.UTC)
    token_id = uuid.uuid4()
    async with host.session() as session:
        await session.execute(
            TABLE.insert().values(
                id=token_id,
                subject_email=email,
                subject_issuer=issuer,
                account_id=None,
                client_id=kw.get("client_id", "difyctl"),
                device_label=kw.get("label", "difyctl on sso-host"),
                prefix=EXTERNAL_PREFIX,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=kw.get("expires_at", now + datetime.timedelta(days=14)),
                delivered_at=now,  # handed to its device, as by a poll
            )
        )
    return token, token_id


async def token_rows(host: Any) -> list[Any]:
    async with host.session() as session:
        return list((await session.execute(select(TABLE).order_by(TABLE.c.created_at))).all())


async def live_rows(host: Any) -> list[Any]:
    return [row for row in await token_rows(host) if row.revoked_at is None]


async def set_row(host: Any, token_id: Any, **values: Any) -> None:
    async with host.session() as session:
        await session.execute(update(TABLE).where(TABLE.c.id == uuid.UUID(str(token_id))).values(**values))


async def pending_code(client: Any, person: Any, **kw: Any) -> tuple[dict[str, Any], str]:
    """A fresh device code and a signed-in console whose CSRF token is returned."""
    started = await start_device_code(client, **kw)
    csrf = await console_login(client, person)
    return started, csrf


async def decide(client: Any, csrf: str, user_code: str, action: str = "approve") -> Any:
    return await client.post(
        f"{DEVICE}/{action}", json={"user_code": user_code}, headers={"X-CSRF-Token": csrf}
    )


__all__ = ["DEVICE", "AuditRecorder", "approve", "device_login", "poll", "record_audit", "start_device_code"]
