"""Anti-framing headers and CORS for ``/openapi/v1/*`` (spec openapi_apps §8), as one ASGI middleware.

Pure ASGI around the whole application (``install_openapi_headers``) rather than a Litestar hook,
so that error responses, 404s, 405s and preflights all get the same treatment.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar import Litestar
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

OPENAPI_PREFIX = "/openapi/v1"
FRAME_HEADERS = ((b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'"))
ALLOWED_METHODS = b"GET, POST, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = ("authorization", "content-type", "x-csrf-token")
EXPOSED_HEADERS = b"X-Version, X-Env, X-Trace-Id"
MAX_AGE = b"600"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _add_missing(headers: list[tuple[bytes, bytes]], extra: Iterable[tuple[bytes, bytes]]) -> None:
    present = {key.lower() for key, _ in headers}
    headers.extend((key, value) for key, value in extra if key not in present)


class OpenApiHeadersMiddleware:
    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str], frame_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_origins = {origin.rstrip("/") for origin in allowed_origins if origin}
        # Other pages (e.g. /device) that must never be framed either.
        self.frame_paths = tuple(frame_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        on_api = path.startswith(OPENAPI_PREFIX)
        if not on_api and not path.startswith(self.frame_paths):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin") if on_api else None
        allowed = origin is not None and origin.decode("latin-1").rstrip("/") in self.allowed_origins
        if on_api and scope.get("method") == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await self._preflight(scope, send, origin if allowed else None)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                _add_missing(headers, FRAME_HEADERS)
                if allowed and origin is not None:
                    headers.extend(self._cors_headers(origin))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", EXPOSED_HEADERS),
            (b"vary", b"Origin"),
        ]

    async def _preflight(self, scope: Scope, send: Send, origin: bytes | None) -> None:
        headers = list(FRAME_HEADERS)
        if origin is not None:
            requested = (_header(scope, b"access-control-request-headers") or b"").decode("latin-1")
            asked = [item.strip() for item in requested.split(",") if item.strip()]
            granted = [item for item in asked if item.lower() in ALLOWED_HEADERS]
            headers += self._cors_headers(origin)
            headers += [
                (b"access-control-allow-methods", ALLOWED_METHODS),
                (b"access-control-max-age", MAX_AGE),
            ]
            if granted:
                headers.append((b"access-control-allow-headers", ", ".join(granted).encode()))
        headers.append((b"content-length", b"0"))
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 204, "headers": headers}
        await send(start)
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(end)


def install_openapi_headers(
    app: Litestar, allowed_origins: Iterable[str], frame_paths: Iterable[str] = ()
) -> None:
    """Wrap the whole application, not each route: Litestar's route middleware never sees a 404 for
    an unknown path or a 405, and those must carry the anti-framing headers too."""
    app.asgi_handler = OpenApiHeadersMiddleware(app.asgi_handler, allowed_origins, frame_paths)
