"""Test-data setup for the token cases the device flow cannot produce on demand.

Rows of the oauth_device plugin's ``oauth_access_tokens`` table are written through a table clause
declared here (this plugin never imports oauth_device); cache entries through the core's key format.
"""

from __future__ import annotations

import datetime
import secrets
import time
import uuid
from typing import Any

import msgspec
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import String, Text, column, insert, table, update

from core.auth.bearer import CACHE_PREFIX, forget_token, hash_token
from core.auth.subject import ACCOUNT, TokenRecord
from plugins.openapi_apps.tests.conftest import UA

ACCESS_TOKENS = table(
    "oauth_access_tokens",
    column("id", GUID(length=16)),
    column("subject_email", Text),
    column("subject_issuer", Text),
    column("account_id", GUID(length=16)),
    column("client_id", String),
    column("device_label", Text),
    column("prefix", String),
    column("token_hash", String),
    column("created_at", DateTimeUTC(timezone=True)),
    column("expires_at", DateTimeUTC(timezone=True)),
    column("delivered_at", DateTimeUTC(timezone=True)),
)


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "User-Agent": UA}


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


async def external_sso_token(host: Any, email: str = "partner@external.example") -> str:
    """A live ``dfoe_`` token of an SSO-verified email with no account (what EE mints)."""
    token = "dfoe_" + secrets.token_urlsafe(32)
    now = datetime.datetime.now(datetime.UTC)
    async with host.session() as session:
        await session.execute(
            insert(ACCESS_TOKENS).values(
                id=uuid.uuid4(),
                subject_email=email,
                subject_issuer="https://idp.external.example",
                account_id=None,
                client_id="difyctl",
                device_label="difyctl on partner-laptop",
                prefix="dfoe_",
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + datetime.timedelta(days=14),
                delivered_at=now,
            )
        )
    return token


async def expire_token(host: Any, token: str) -> None:
    """Move the token's expiry into the past and drop its cache entry (as if the 60 s had passed)."""
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    async with host.session() as session:
        await session.execute(
            update(ACCESS_TOKENS)
            .where(ACCESS_TOKENS.c.token_hash == hash_token(token))
            .values(expires_at=past)
        )
    await forget_token(host.state, hash_token(token))


async def narrow_scope_token(host: Any, account_id: str, memberships: dict[str, str]) -> str:
    """An account token without ``apps:read`` (none can be minted today; the check must still bite)."""
    token = "dfoa_" + secrets.token_urlsafe(32)
    record = TokenRecord(
        token_id=str(uuid.uuid4()),
        prefix="dfoa_",
        kind=ACCOUNT,
        scopes=["apps:run"],
        subject_email="narrow@example.com",
        subject_issuer="dify:account",
        account_id=account_id,
        client_id="difyctl",
        expires_at=time.time() + 3600,
    )
    entry = msgspec.json.encode({"record": record, "memberships": memberships})
    await host.state.set(CACHE_PREFIX + hash_token(token), entry, ttl=60)
    return token
