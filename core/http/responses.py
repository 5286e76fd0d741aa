"""Documented error responses, so /schema lists every status a route can answer and its body shape.

Routes pass ``responses=error_responses(...)`` to their decorator; the statuses every route can give
(503 while a dependency is down, 400 for a NUL in the request, 413 for a body over the limit) are
added by ``error_responses`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from core.http.errors import ErrorBody


class OAuthErrorBody(msgspec.Struct):
    """RFC 6749 §5.2 / RFC 8628 §3.5 error: ``{"error": "<code>"}``."""

    error: str


DESCRIPTIONS = {
    400: "The request is malformed (a missing or mistyped field, a NUL character, a body that is not JSON).",
    401: "Missing, unknown, revoked or expired credentials.",
    403: "Authenticated, but not allowed here (wrong surface, missing scope, API disabled).",
    404: "Not found, or not visible to the caller (ids of other workspaces do not leak).",
    409: "The resource changed or is being changed by someone else.",
    413: "The request body is larger than the server reads (http.max_body_bytes).",
    415: "The request body has a media type this route does not read.",
    422: "A parameter failed validation; details lists each problem as {loc, type, msg}.",
    429: "Rate limited; Retry-After says when to come back.",
    503: "A service the server depends on (database, Redis) is unavailable; Retry-After says when to retry.",
}
# What any route may answer whatever it does.
ALWAYS = (400, 413, 503)
# What a route behind ``bearer_guard`` may answer before its handler runs.
BEARER_GUARDED = (401, 403, 429)


def error_responses(*statuses: int, oauth: Iterable[int] = ()) -> dict[int, ResponseSpec]:
    """ErrorBody for ``statuses`` (and the ones every route has); ``{"error": ...}`` for ``oauth``."""
    rfc = set(oauth)
    plain = {*statuses, *ALWAYS}
    documented: dict[int, ResponseSpec] = {}
    for status in sorted(plain | rfc):
        if status in rfc and status not in plain:
            description = DESCRIPTIONS.get(status, "OAuth error")
            documented[status] = ResponseSpec(OAuthErrorBody, description=description)
        elif status in rfc:
            documented[status] = ResponseSpec(
                # A union is a valid body type; Litestar's annotation says otherwise with pydantic installed.
                cast(Any, ErrorBody | OAuthErrorBody),
                description=DESCRIPTIONS.get(status, "error") + " RFC errors answer {\"error\": code}.",
            )
        else:
            documented[status] = ResponseSpec(ErrorBody, description=DESCRIPTIONS.get(status, "error"))
    return documented
