"""Beyond Dify: RFC 7009 token revocation and RFC 8414 authorization-server metadata."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, get, post
from litestar.exceptions import ValidationException
from litestar.params import JSONBody
from litestar.response import Response

from core.audit import AuditEvent
from core.auth.bearer import forget_token, hash_token, token_prefix
from core.context import HostContext
from core.http.errors import OAuthError, oauth_error_response
from core.http.request import accepts_form
from core.http.responses import error_responses
from plugins.oauth_device.abuse import REVOKE_PER_IP
from plugins.oauth_device.authenticator import VARIANTS
from plugins.oauth_device.bodies import RevokeRequest
from plugins.oauth_device.runtime import runtime_of
from plugins.oauth_device.urls import issuer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Every scope a token prefix grants, each once, in the prefixes' order.
SCOPES_SUPPORTED = list(dict.fromkeys(scope for variant in VARIANTS.values() for scope in variant.scopes))


def _invalid_request(_: Request, __: ValidationException) -> Response[Any]:
    """RFC 6749 §5.2's shape for a malformed revocation request (no token, not a string ...)."""
    return oauth_error_response(OAuthError(400, "invalid_request"))


@post(
    "/openapi/v1/oauth/revoke",
    summary="Revoke a token (RFC 7009)",
    description=(
        "Form-encoded as RFC 7009 §2.1 asks (JSON works too). 200 with an empty body for any "
        "well-formed request, whether or not the token existed (§2.2); 400 {\"error\": "
        "\"invalid_request\"} without a token."
    ),
    status_code=200,
    tags=["oauth device flow"],
    guards=[REVOKE_PER_IP.per_ip_guard()],
    exception_handlers={ValidationException: _invalid_request},
    responses=error_responses(429, oauth=(400,)),
    media_type=MediaType.TEXT,
    **accepts_form(),
)
async def revoke_token(request: Request, data: JSONBody[RevokeRequest]) -> Response[bytes]:
    ctx: HostContext = request.app.state.host
    token = data.token
    if token_prefix(token) in VARIANTS:
        runtime = runtime_of(ctx)
        token_hash = hash_token(token)
        token_id = await runtime.tokens.revoke_by_hash(token_hash, runtime.now_dt())
        if token_id is not None:  # durable: audited before the cache is told, which may fail (503)
            await ctx.audit(
                AuditEvent("oauth.token_revoked", {"token_id": str(token_id), "reason": "rfc7009"})
            )
        await forget_token(ctx.state, token_hash)
    # RFC 7009 §2.2: the body is empty (the client ignores it); not a JSON ``null``.
    return Response(content=b"", status_code=200, media_type="text/plain")


@get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
    tags=["oauth device flow"],
    responses=error_responses(),
)
async def authorization_server_metadata(request: Request) -> dict[str, Any]:
    base_url = issuer(request.app.state.host.settings)
    base = f"{base_url}/openapi/v1/oauth"
    return {
        "issuer": base_url,
        "device_authorization_endpoint": f"{base}/device/code",
        "token_endpoint": f"{base}/device/token",
        "revocation_endpoint": f"{base}/revoke",
        "grant_types_supported": [DEVICE_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": list(SCOPES_SUPPORTED),
    }
