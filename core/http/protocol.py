"""The HTTP/1.1 connection handling of ``difyd run``: uvicorn's httptools protocol, guarded.

uvicorn reads a request's head for as long as the client takes and whatever its size: a few thousand
connections that each send half a header held every file descriptor of the process, and one 300 MB
header took its memory and stalled every other request. This protocol bounds both, and answers what
uvicorn would answer in plain text with the project's ErrorBody:

- the head (request line and headers) must arrive within ``server.header_timeout`` seconds of its
  first byte and stay under ``server.max_header_bytes``: else 408 or 431, and the connection closes;
- a body that stops arriving for ``server.body_timeout`` seconds closes the connection (the
  application sees the client go away);
- an unparseable request gets 400 ErrorBody instead of uvicorn's text.

Idle keep-alive connections are uvicorn's own business (closed after 5 s), and the number of
connections served at once is capped by ``server.max_concurrency`` (uvicorn's 503 past it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from core.http.errors import ApiError
from core.settings import ServerSettings

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes = 64 * 1024
    header_timeout = 10.0
    body_timeout = 30.0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._reading_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._head_bytes += len(data)
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)
        elif self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
        super().data_received(data)
        too_large = self._reading_head and self._head_bytes > self.max_header_bytes
        if too_large and not self.transport.is_closing():
            self._refuse(431, "the request's headers are too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "the request is not valid HTTP")

    def _cancel_timers(self) -> None:
        for timer in (getattr(self, "_head_timer", None), getattr(self, "_body_timer", None)):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._reading_head and self._head_bytes and not self.transport.is_closing():
            self._refuse(408, "the request's headers did not arrive in time")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if not self.transport.is_closing():
            self.transport.close()  # the application's next read sees the client gone

    def _refuse(self, status: int, message: str) -> None:
        """Answer before any application ran, and close: what follows on this connection is not read."""
        body = msgspec.json.encode(ApiError(status, message).body())
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % (
            status,
            _REASONS[status],
            len(body),
        )
        head += b"connection: close\r\n\r\n"
        self._cancel_timers()
        self.transport.write(head + body)
        self.transport.close()


# What ``difyd run`` hands uvicorn: an import path, so that worker processes (``--workers``) find it.
PROTOCOL = "core.http.protocol:GuardedHttpToolsProtocol"


def configure_protocol(server: ServerSettings) -> None:
    """This process's bounds, set when the application is built (each uvicorn worker builds its own
    before serving a connection)."""
    GuardedHttpToolsProtocol.max_header_bytes = server.max_header_bytes
    GuardedHttpToolsProtocol.header_timeout = server.header_timeout
    GuardedHttpToolsProtocol.body_timeout = server.body_timeout
