"""Beyond Dify: RFC 7009 token revocation and RFC 8414 authorization-server metadata."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Response

from core.audit import AuditEvent
from core.auth.bearer import forget_token, hash_token, token_prefix
from core.context import HostContext
from core.http.errors import OAuthError
from plugins.oauth_device.abuse import REVOKE_PER_IP
from plugins.oauth_device.authenticator import VARIANTS
from plugins.oauth_device.bodies import read_body
from plugins.oauth_device.runtime import runtime_of

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Every scope a token prefix grants, each once, in the prefixes' order.
SCOPES_SUPPORTED = list(dict.fromkeys(scope for variant in VARIANTS.values() for scope in variant.scopes))


def issuer_of(request: Request) -> str:
    host: HostContext = request.app.state.host
    return (host.settings.console_api_url.strip() or str(request.base_url)).rstrip("/")


@post(
    "/openapi/v1/oauth/revoke",
    summary="Revoke a token (RFC 7009)",
    status_code=200,
    tags=["oauth device flow"],
)
async def revoke_token(request: Request) -> Response[None]:
    """Always 200 for a well-formed request, whether or not the token existed (§2.2 of RFC 7009)."""
    ctx: HostContext = request.app.state.host
    await REVOKE_PER_IP.enforce(ctx.state, request.app.state.client_ip(request))
    body = await read_body(request)
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise OAuthError(400, "invalid_request")
    if token_prefix(token) in VARIANTS:
        runtime = runtime_of(ctx)
        token_hash = hash_token(token)
        token_id = await runtime.tokens.revoke_by_hash(token_hash, runtime.now_dt())
        await forget_token(ctx.state, token_hash)
        if token_id is not None:
            await ctx.audit(
                AuditEvent("oauth.token_revoked", {"token_id": str(token_id), "reason": "rfc7009"})
            )
    return Response(None, status_code=200)


@get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
    tags=["oauth device flow"],
)
async def authorization_server_metadata(request: Request) -> dict[str, Any]:
    issuer = issuer_of(request)
    base = f"{issuer}/openapi/v1/oauth"
    return {
        "issuer": issuer,
        "device_authorization_endpoint": f"{base}/device/code",
        "token_endpoint": f"{base}/device/token",
        "revocation_endpoint": f"{base}/revoke",
        "grant_types_supported": [DEVICE_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": list(SCOPES_SUPPORTED),
    }
