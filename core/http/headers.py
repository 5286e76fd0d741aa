"""Response-header policy, applied in one place: each plugin declares the headers of the paths it owns.

A ``HeaderPolicy`` names a path prefix (whole segments: ``/device`` covers ``/device`` and
``/device/x``, not ``/devices``) and the headers its responses carry: anti-framing, a CSP,
cache control, ``Content-Disposition`` for downloads... Plugins return them from the
``header_policies`` hook; the core adds its own for ``/openapi/v1`` (anti-framing and CORS on every
response of the API surface, spec openapi_apps §8). Where several policies cover a path, the most
specific prefix wins a header they both set. A header the handler set itself is left alone.

Pure ASGI around the whole application (``install_header_policies``) rather than a Litestar hook, so
error responses, 404s, 405s, preflights and the core's early refusals all get the same treatment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
NO_FRAMING: Mapping[str, str] = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
ALLOWED_METHODS = b"GET, POST, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = ("authorization", "content-type", "x-csrf-token")
EXPOSED_HEADERS = b"X-Version, X-Env, X-Trace-Id"
MAX_AGE = b"600"


@dataclass(frozen=True)
class HeaderPolicy:
    """The response headers of every path under ``prefix``; ``cors`` adds CORS for the allowed origins
    (``http.cors_allow_origins``) and answers their preflights."""

    prefix: str
    headers: Mapping[str, str] = field(default_factory=dict)
    cors: bool = False

    def covers(self, path: str) -> bool:
        prefix = self.prefix.rstrip("/")
        return path == prefix or path.startswith(prefix + "/") or not prefix


@dataclass(frozen=True)
class _Resolved:
    headers: tuple[tuple[bytes, bytes], ...]
    cors: bool


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _add_missing(headers: list[tuple[bytes, bytes]], extra: Iterable[tuple[bytes, bytes]]) -> None:
    present = {key.lower() for key, _ in headers}
    headers.extend((key, value) for key, value in extra if key not in present)


class HeaderPolicyMiddleware:
    def __init__(
        self, app: ASGIApp, policies: Iterable[HeaderPolicy], allowed_origins: Iterable[str]
    ) -> None:
        self.app = app
        # Most specific first: the first policy to name a header decides its value.
        self.policies = sorted(policies, key=lambda policy: len(policy.prefix.rstrip("/")), reverse=True)
        self.allowed_origins = {origin.rstrip("/") for origin in allowed_origins if origin}
        self._resolved: dict[str, _Resolved | None] = {}

    def _resolve(self, path: str) -> _Resolved | None:
        """The merged policy of a path (cached by path; a bounded number of distinct paths are served,
        and the cache is capped so that scanners cannot grow it)."""
        if path in self._resolved:
            return self._resolved[path]
        matching = [policy for policy in self.policies if policy.covers(path)]
        resolved = None
        if matching:
            merged: dict[str, str] = {}
            for policy in matching:
                for name, value in policy.headers.items():
                    merged.setdefault(name.lower(), value)
            headers = tuple((key.encode("latin-1"), value.encode("latin-1")) for key, value in merged.items())
            resolved = _Resolved(headers, any(policy.cors for policy in matching))
        if len(self._resolved) < 4096:
            self._resolved[path] = resolved
        return resolved

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self._resolve(scope["path"])
        if policy is None:
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin") if policy.cors else None
        allowed = origin is not None and origin.decode("latin-1").rstrip("/") in self.allowed_origins
        preflight = scope.get("method") == "OPTIONS" and _header(scope, b"access-control-request-method")
        if policy.cors and preflight:
            await self._preflight(scope, send, policy, origin if allowed else None)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                _add_missing(headers, policy.headers)
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

    async def _preflight(self, scope: Scope, send: Send, policy: _Resolved, origin: bytes | None) -> None:
        headers = list(policy.headers)
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


def core_policies() -> list[HeaderPolicy]:
    """The core's own surface: every response under /openapi/v1 (its health and version routes, and
    any path nobody serves) is never framed and speaks CORS to the allowed origins."""
    return [HeaderPolicy(OPENAPI_PREFIX, NO_FRAMING, cors=True)]


def install_header_policies(
    app: Litestar, policies: Iterable[HeaderPolicy], allowed_origins: Iterable[str]
) -> None:
    """Wrap the whole application, not each route: Litestar's route middleware never sees a 404 for
    an unknown path or a 405, and those must carry the policy's headers too."""
    app.asgi_handler = HeaderPolicyMiddleware(app.asgi_handler, policies, allowed_origins)
