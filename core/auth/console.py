"""The console session: Dify-compatible cookies (passport JWT + CSRF JWT) and their guard.

``access_token`` is an HS256 JWT with ``user_id``, ``exp``, ``iat``, ``iss`` (edition) and
``sub="Console API Passport"``; ``csrf_token`` is an HS256 JWT whose ``sub`` is the account id.
Both are signed with SECRET_KEY, so cookies minted by Dify work here and the other way round.
Over https the names take the ``__Host-`` prefix.

The cookies are stateless, so ending an account's sessions is a per-account instant
(``accounts.sessions_revoked_at``): a passport issued before it no longer signs in. Each request
already reads the account row, so this costs nothing extra.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from litestar import Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import select

from core.domain.ids import parse_uuid
from core.domain.models import Account, AccountStatus, Membership, Workspace, workspace_in_use
from core.http.errors import ApiError
from core.http.openapi import CONSOLE_SCHEME, marks_security
from core.settings import Settings

PASSPORT_SUBJECT = "Console API Passport"
ACCESS_COOKIE = "access_token"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONSOLE_KEY = "difyd.console_user"


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    account_id: uuid.UUID
    email: str
    name: str
    status: str
    active_workspace_id: uuid.UUID | None


def cookie_name(settings: Settings, base: str) -> str:
    return f"__Host-{base}" if settings.uses_https else base


def issue_passport(settings: Settings, account_id: uuid.UUID, now: float | None = None) -> str:
    now = now or time.time()
    claims = {
        "user_id": str(account_id),
        "exp": int(now + settings.console.session_minutes * 60),
        # Not rounded: a session started right after its account's sessions were ended must count
        # as after (``sessions_revoked_at`` has microseconds).
        "iat": now,
        "iss": settings.console.edition,
        "sub": PASSPORT_SUBJECT,
    }
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def issue_csrf(settings: Settings, account_id: uuid.UUID, now: float | None = None) -> str:
    now = now or time.time()
    claims = {"sub": str(account_id), "exp": int(now + settings.console.session_minutes * 60)}
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def session_cookies(settings: Settings, account_id: uuid.UUID) -> list[Cookie]:
    secure = settings.uses_https
    max_age = settings.console.session_minutes * 60
    common: dict[str, Any] = {"path": "/", "secure": secure, "samesite": "lax", "max_age": max_age}
    return [
        Cookie(key=cookie_name(settings, ACCESS_COOKIE), value=issue_passport(settings, account_id),
               httponly=True, **common),
        # Readable by the page's script: it copies it into the X-CSRF-Token header.
        Cookie(key=cookie_name(settings, CSRF_COOKIE), value=issue_csrf(settings, account_id),
               httponly=False, **common),
    ]


def clear_session_cookies(settings: Settings, response: Response[Any]) -> None:
    # Same attributes as when set: a browser ignores a ``__Host-`` cookie (even an expired one)
    # that lacks ``Secure``, so a bare delete_cookie would leave the session in place.
    for base in (ACCESS_COOKIE, CSRF_COOKIE):
        response.set_cookie(
            Cookie(
                key=cookie_name(settings, base),
                value="",
                path="/",
                secure=settings.uses_https,
                httponly=base == ACCESS_COOKIE,
                samesite="lax",
                max_age=0,
                expires=0,
            )
        )


def _read_cookie(settings: Settings, connection: ASGIConnection, base: str) -> str | None:
    # Only the name this deployment sets: over https an unprefixed cookie could have been planted
    # by a sibling subdomain, which is what the ``__Host-`` prefix exists to rule out.
    return connection.cookies.get(cookie_name(settings, base))


def _decode(settings: Settings, token: str) -> dict[str, Any] | None:
    """The claims of a cookie signed with SECRET_KEY, or with a retired key still in rotation.

    These JWTs are signed with the raw secret, not a derived key: the same cookies must work in Dify.
    """
    for key in settings.secret_keys:
        try:
            return jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class Passport:
    account_id: uuid.UUID
    issued_at: float  # epoch seconds


def read_passport(settings: Settings, connection: ASGIConnection) -> Passport | None:
    token = _read_cookie(settings, connection, ACCESS_COOKIE)
    claims = _decode(settings, token) if token else None
    if not claims or claims.get("sub") != PASSPORT_SUBJECT or "token_source" in claims:
        return None
    account_id = parse_uuid(claims.get("user_id"))
    if account_id is None:
        return None
    issued_at = claims.get("iat")
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        # A passport minted by Dify carries no iat: taken as begun one session length (ours) before
        # it expires. With Dify's length no longer than ours that is no later than the truth, so a
        # session ended is never let back in (a later one may be asked to sign in again).
        issued_at = float(claims["exp"]) - settings.console.session_minutes * 60
    return Passport(account_id, float(issued_at))



def has_session_cookie(settings: Settings, connection: ASGIConnection) -> bool:
    return bool(_read_cookie(settings, connection, ACCESS_COOKIE))


def csrf_pair_matches(settings: Settings, connection: ASGIConnection) -> bool:
    """The X-CSRF-Token header equals the csrf_token cookie (constant time): only a page of this
    origin can read the cookie to copy it, so the request did not come from another site."""
    header = connection.headers.get(CSRF_HEADER) or ""
    cookie = _read_cookie(settings, connection, CSRF_COOKIE) or ""
    return bool(header) and bool(cookie) and hmac.compare_digest(header.encode(), cookie.encode())


def csrf_valid(settings: Settings, connection: ASGIConnection, account_id: uuid.UUID) -> bool:
    """Header equals the cookie (constant time), and the cookie is a live JWT for this account."""
    if not csrf_pair_matches(settings, connection):
        return False
    cookie = _read_cookie(settings, connection, CSRF_COOKIE) or ""
    claims = _decode(settings, cookie)
    if not claims:
        return False
    return hmac.compare_digest(str(claims.get("sub", "")).encode(), str(account_id).encode())


async def load_console_user(connection: ASGIConnection) -> ConsoleUser:
    """Resolve the cookie session to an active account (401 otherwise); no CSRF check here."""
    ctx = connection.app.state.host
    passport = read_passport(ctx.settings, connection)
    if passport is None:
        raise ApiError(401, "Unauthorized.")
    account_id = passport.account_id
    async with ctx.reads.connect() as conn:
        account = (
            await conn.execute(
                select(Account.id, Account.email, Account.name, Account.status, Account.sessions_revoked_at)
                .where(Account.id == account_id)
            )
        ).first()
        if account is None:
            raise ApiError(401, "Unauthorized.")
        ended = account.sessions_revoked_at
        if ended is not None and passport.issued_at < ended.timestamp():
            raise ApiError(401, "Your session has ended. Sign in again.", code="session_ended")
        if account.status == AccountStatus.BANNED.value:
            raise ApiError(401, "Account is banned.")
        if account.status == AccountStatus.CLOSED.value:
            raise ApiError(401, "Unauthorized.")
        if account.status == AccountStatus.PENDING.value:
            raise ApiError(400, "Account not initialized.", code="account_not_initialized")
        joins = (
            await conn.execute(
                select(Membership.tenant_id, Membership.current)
                .join(Workspace, Workspace.id == Membership.tenant_id)
                .where(Membership.account_id == account_id, workspace_in_use())
                .order_by(Membership.created_at)
            )
        ).all()
    active = next((tenant for tenant, current in joins if current), joins[0][0] if joins else None)
    return ConsoleUser(account.id, account.email, account.name, account.status, active)


async def console_session_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Cookie session for console routes; every write must carry a valid X-CSRF-Token."""
    user = await load_console_user(connection)
    if connection.scope.get("method") not in SAFE_METHODS and not csrf_valid(
        connection.app.state.host.settings, connection, user.account_id
    ):
        raise ApiError(401, "CSRF token is missing or invalid.")
    connection.scope[CONSOLE_KEY] = user  # type: ignore[literal-required]


marks_security(console_session_guard, CONSOLE_SCHEME)


def console_user(connection: ASGIConnection) -> ConsoleUser:
    return connection.scope[CONSOLE_KEY]  # type: ignore[literal-required]
