"""The HTTP/1.1 connection handling of ``difyd run``: uvicorn's httptools protocol, guarded.

uvicorn reads a request's head for as long as the client takes and whatever its size, lets a
connection sit silent forever, and counts idle connections against its concurrency limit: a few
thousand connections that each sent nothing (or half a header, or a body one byte at a time) made
every request, health checks included, answer 503. This protocol bounds what one connection may cost,
and answers in the project's ErrorBody where uvicorn answers in plain text:

- a request's head (request line and headers) must arrive within ``server.header_timeout`` seconds of
  the connection opening, or of the first byte of the next request on a kept-alive connection, and
  stay under ``server.max_header_bytes``: else 408 or 431 and the connection closes (a connection that
  never sent a byte is closed without an answer);
- a request's body must have arrived ``server.body_timeout`` seconds after its head, however it
  trickles: else the connection closes (the application sees the client go away);
- an address may hold ``server.max_connections_per_ip`` connections at once (trusted proxies are not
  counted: their connections carry many clients); one more is answered 429 and closed;
- at most ``server.max_concurrency`` requests are handled at once in this process (idle connections
  do not count); one more is answered 503 with Retry-After;
- an unparseable request gets 400.

Idle keep-alive connections between requests are closed by uvicorn after 5 s.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

import msgspec
import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from core.http.client_ip import Network, is_trusted, parse_proxies
from core.http.errors import ApiError
from core.logging import ThrottledWarning
from core.settings import Settings

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}
RETRY_AFTER = 1  # seconds: what a refused connection or request is told to wait
# After a refusal the connection is half-closed and what the client still sends is read and dropped
# for this long before the socket closes: closing at once with unread input makes the kernel answer
# with a reset, and the client would lose the refusal it was sent (nginx's "lingering close").
LINGER_SECONDS = 1.0

log = structlog.get_logger("difyd.http")


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; the refusal is answered by send_400_response."""


def error_response(status: int, message: str, retry_after: int | None = None) -> bytes:
    """A whole HTTP/1.1 response with an ErrorBody, closing the connection."""
    body = msgspec.json.encode(ApiError(status, message).body())
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % (
        status,
        _REASONS[status],
        len(body),
    )
    if retry_after is not None:
        head += b"retry-after: %d\r\n" % retry_after
    return head + b"connection: close\r\n\r\n" + body


async def _overloaded(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI answer to a request past ``max_concurrency``: 503 ErrorBody, come back in a second."""
    body = msgspec.json.encode(ApiError(503, "the server is busy; try again shortly").body())
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes: ClassVar[int] = 64 * 1024
    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 30.0
    max_concurrency: ClassVar[int] = 1000
    max_connections_per_ip: ClassVar[int] = 100
    trusted_proxies: ClassVar[tuple[Network, ...]] = ()
    # Open connections per peer address, in this process.
    open_per_ip: ClassVar[Counter[str]] = Counter()
    warn_overloaded = ThrottledWarning(log, "http_overloaded")
    warn_too_many_connections = ThrottledWarning(log, "http_too_many_connections")

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._reading_head = True
        self._head_bytes = 0  # bytes received while reading this head (a slow, huge head)
        self._head_size = 0  # the parsed head's size (a huge head that arrived in one read)
        self._refusal: tuple[int, str] | None = None
        self._answered = False
        self._body_timer: asyncio.TimerHandle | None = None
        # From the connection's first moment: a connection that never speaks is let go too.
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(
            self.header_timeout, self._head_timed_out
        )
        self._peer = self.client[0] if self.client else ""
        self._counted = self.max_connections_per_ip > 0 and not is_trusted(self._peer, self.trusted_proxies)
        if self._counted:
            self.open_per_ip[self._peer] += 1
            if self.open_per_ip[self._peer] > self.max_connections_per_ip:
                self.warn_too_many_connections(ip=self._peer, limit=self.max_connections_per_ip)
                self._answer(429, "too many connections from this address", RETRY_AFTER)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        if getattr(self, "_counted", False):
            self._counted = False
            self.open_per_ip[self._peer] -= 1
            if self.open_per_ip[self._peer] <= 0:
                del self.open_per_ip[self._peer]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._answered or self.transport.is_closing():
            return  # refused: what follows is dropped unread
        if self._reading_head:
            self._head_bytes += len(data)
            if self._head_timer is None:  # the first byte of the next request on a kept-alive connection
                self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)
        super().data_received(data)
        too_large = self._reading_head and self._head_bytes > self.max_header_bytes
        if too_large and not self.transport.is_closing():
            self._answer(431, "the request's headers are too large")

    # -- parser callbacks: count the head as it is parsed (a huge head may come in one read)
    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self.max_header_bytes:
            self._refusal = (431, "the request's headers are too large")
            raise _Refused

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_bytes = self._head_size = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        # One deadline for the whole body, not one per chunk: a byte every few seconds must not keep
        # a connection (and the request waiting on it) forever.
        self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        # Whatever arrives next on this connection is the next request's head (its timer starts then).
        self._reading_head = True
        super().on_message_complete()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        # Requests in flight, not connections: an idle connection costs no capacity.
        if len(self.tasks) >= self.max_concurrency:
            self.warn_overloaded(limit=self.max_concurrency)
            app = _overloaded
        super()._start_asgi_task(cycle, app)

    def send_400_response(self, msg: str) -> None:
        status, message = self._refusal or (400, "the request is not valid HTTP")
        self._answer(status, message)

    def _cancel_timers(self) -> None:
        for timer in (getattr(self, "_head_timer", None), getattr(self, "_body_timer", None)):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._reading_head or self._answered or self.transport.is_closing():
            return
        if self._head_bytes:
            self._answer(408, "the request's headers did not arrive in time")
        else:
            self.transport.close()  # it never said anything: nothing to answer

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if not self.transport.is_closing():
            self.transport.close()  # the application's next read sees the client gone

    def _answer(self, status: int, message: str, retry_after: int | None = None) -> None:
        """Answer before any application ran, and close: what follows on this connection is not read."""
        self._cancel_timers()
        self._answered = True
        self.transport.write(error_response(status, message, retry_after))
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer, then our end closed; the client's data is drained
            self._head_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def raise_open_files_limit(wanted: int = 65536) -> None:
    """Raise this process's soft limit on open files towards its hard limit: every connection is a
    file, and a default of 1024 would refuse connections long before max_concurrency is reached."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# What ``difyd run`` hands uvicorn: an import path, so that worker processes (``--workers``) find it.
PROTOCOL = "core.http.protocol:GuardedHttpToolsProtocol"


def configure_protocol(settings: Settings) -> None:
    """This process's bounds, set when the application is built (each uvicorn worker builds its own
    before serving a connection)."""
    server = settings.server
    GuardedHttpToolsProtocol.max_header_bytes = server.max_header_bytes
    GuardedHttpToolsProtocol.header_timeout = server.header_timeout
    GuardedHttpToolsProtocol.body_timeout = server.body_timeout
    GuardedHttpToolsProtocol.max_concurrency = server.max_concurrency
    GuardedHttpToolsProtocol.max_connections_per_ip = server.max_connections_per_ip
    GuardedHttpToolsProtocol.trusted_proxies = parse_proxies(server.trusted_proxies)
