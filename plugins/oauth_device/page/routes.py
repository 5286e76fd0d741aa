"""The /device page: a server-rendered shell whose small script drives the JSON device-flow API.

The page never approves anything itself. Each state (sign in, enter code, confirm, result, each
error) is a server-rendered section of ``templates/device.html``; ``static/device.js`` (served by the
core at ``/static/oauth_device/device.js``) shows one at a time and calls the same
``/console/api/*`` and ``/openapi/v1/oauth/device/*`` endpoints a client would, so the approval
logic lives in one place.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import MediaType, Request, get
from litestar.response import Response
from sqlalchemy import select

from core.auth.console import ConsoleUser, load_console_user
from core.context import HostContext
from core.domain.models import Workspace
from core.http.errors import ApiError
from core.http.headers import HeaderPolicy
from core.http.responses import error_responses
from core.services import ExternalSignIn, ExternalSignInRoutes
from plugins.oauth_device.codes import USER_CODE_ALPHABET, USER_CODE_GROUP, normalise_user_code
from plugins.oauth_device.runtime import runtime_of

# The page loads only its own script and stylesheet; no inline code, never framed.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    # The URL may still carry ?user_code= until the script scrubs it: never send it onwards.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def header_policies() -> list[HeaderPolicy]:
    """What the page answers with, applied by the core to every response under /device (its script
    and stylesheet are this plugin's static files, which the core serves under /static)."""
    return [HeaderPolicy("/device", PAGE_HEADERS)]


_SSO_ERROR = re.compile(r"^[a-z0-9_]{1,64}$")


def prefill_code(raw: str | None) -> str:
    """The ``?user_code=`` value as the field shows it: formatted when well-formed, else as typed (capped)."""
    if not raw:
        return ""
    return normalise_user_code(raw) or raw.strip()[:16]


async def external_sign_in(ctx: HostContext) -> ExternalSignInRoutes | None:
    """Where single sign-on for people without an account starts, when a plugin offers it now."""
    provider: ExternalSignIn | None = ctx.plugins.hook.external_sign_in(ctx=ctx)
    return None if provider is None else await provider.routes()


async def _signed_in(request: Request) -> ConsoleUser | None:
    try:
        return await load_console_user(request)
    except ApiError:
        return None  # no cookie, an expired one, or an account that cannot sign in: show the form


async def _workspace_name(ctx: HostContext, user: ConsoleUser | None) -> str:
    if user is None or user.active_workspace_id is None:
        return ""
    async with ctx.session_maker() as session:
        name = await session.scalar(select(Workspace.name).where(Workspace.id == user.active_workspace_id))
    return name or ""


def initial_view(sso_verified: bool, sso_error: str, sso_offered: bool) -> str:
    """Signed in or not, the visitor starts with the code: what asks for access is shown (from the
    lookup) before anyone is asked to sign in, so a person never signs in for a request they have not
    seen (RFC 8628 §5.4)."""
    if sso_error or (sso_verified and not sso_offered):
        return "error-sso"  # the identity provider failed, or sent back to a sign-in no plugin offers now
    if sso_verified:
        return "loading"  # the script fetches the SSO approval context
    return "code"


@get(
    "/device",
    summary="The device-approval page (HTML) where a person approves a device code",
    responses=error_responses(),
    media_type=MediaType.HTML,
)
async def device_page(request: Request) -> Response[str]:
    ctx: HostContext = request.app.state.host
    query = request.query_params
    user = await _signed_in(request)
    raw_error = (query.get("sso_error") or "").strip()
    sso_error = raw_error if _SSO_ERROR.match(raw_error) else ("unknown" if raw_error else "")
    sso_verified = query.get("sso_verified") == "1"
    sso = await external_sign_in(ctx)
    html = ctx.pages.render(
        "oauth_device/device.html",
        view=initial_view(sso_verified, sso_error, sso is not None),
        user=user,
        workspace_name=await _workspace_name(ctx, user),
        token_days=runtime_of(ctx).settings.effective_ttl_days,
        prefill=prefill_code(query.get("user_code")),
        sso=sso,
        code_alphabet=USER_CODE_ALPHABET,
        code_group=USER_CODE_GROUP,
        sso_error=sso_error,
    )
    return Response(html, media_type=MediaType.HTML)


def page_route_handlers() -> list[Any]:
    """Handlers the plugin mounts for the page: the page itself and its script and stylesheet."""
    return [device_page]
