"""Shared helpers for the plugin's tests: audit capture, direct token rows, approval shortcuts."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from sqlalchemy import select, update

from core.auth.bearer import hash_token
from plugins.oauth_device.codes import EXTERNAL_PREFIX, new_token
from plugins.oauth_device.models import OAuthAccessToken
from tests.support.audit import AuditRecorder, record_audit
from tests.support.tokens import DEVICE, console_login, poll, start_device_code

TABLE = OAuthAccessToken.__table__


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


__all__ = ["DEVICE", "AuditRecorder", "poll", "record_audit"]
