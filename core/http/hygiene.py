"""Requests refused before routing, in one place, with ErrorBody (never echoing the input):

- a NUL character in the path or the query string (``%00``): no database can store it, and the
  error it would cause deeper down is a 500;
- a path with a trailing slash (``/openapi/v1/apps/``): routes are declared without one, and serving
  both spellings would make two URLs of every resource (the spec answers 404).

And ``HEAD`` is served as ``GET`` without the body (RFC 9110 §9.3.2), for every GET route: probes and
``curl -I`` expect it, and no route has to declare it.
"""

from __future__ import annotations

from typing import cast

import msgspec
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from core.http.errors import ApiError


def _reject(scope: Scope) -> ApiError | None:
    path: str = scope["path"]
    query: bytes = scope.get("query_string", b"")
    if "\x00" in path or b"%00" in query or b"\x00" in query:
        return ApiError(400, "the request contains a NUL character", code="bad_request")
    if len(path) > 1 and path.endswith("/"):
        return ApiError(404, "not found")
    return None


class RequestHygieneMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = _reject(scope)
            if error is not None:
                body = msgspec.json.encode(error.body())
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *((name.lower().encode(), value.encode()) for name, value in error.headers.items()),
                ]
                start: HTTPResponseStartEvent = {
                    "type": "http.response.start",
                    "status": error.status,
                    "headers": headers,
                }
                await send(start)
                end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
                await send(end)
                return
            if scope.get("method") == "HEAD":
                as_get = cast(Scope, {**scope, "method": "GET"})
                await self.app(as_get, receive, _without_body(send))
                return
        await self.app(scope, receive, send)


def _without_body(send: Send) -> Send:
    """The response as GET answers it (status, headers, Content-Length), minus the body's bytes."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            more = bool(message.get("more_body", False))
            empty: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": more}
            message = empty
        await send(message)

    return send_head
