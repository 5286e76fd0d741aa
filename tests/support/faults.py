"""Dependencies a test can break on purpose: a Redis server of its own and a TCP path it can cut.

``RedisServer`` runs a private ``redis-server`` on a free loopback port: stop it (connections
refused), freeze it (SIGSTOP: connections accepted, nothing answered), start it again empty, or kill
every client connection. ``CuttablePath`` is a TCP proxy in front of any server (PostgreSQL here):
refuse new connections, blackhole traffic (bytes held, nothing answered) or drop every connection,
then heal. Both are real sockets to real servers; nothing of ours is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server process; ``url`` stays the same across stop/start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="difyd-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.02)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        """Kill the process: the port refuses connections until ``start``."""
        if self.process is not None:
            self.resume()
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def restart_empty(self) -> None:
        self.stop()
        self.start()

    def kill_clients(self) -> None:
        import redis

        with redis.Redis(port=self.port, socket_timeout=2) as admin:
            admin.client_kill_filter(_type="normal", skipme=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(eq=False)
class _Pair:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class CuttablePath:
    """A TCP proxy on 127.0.0.1:<port> -> target. Runs on the test's event loop."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._pairs: set[_Pair] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        pair = _Pair(writer, up_writer)
        self._pairs.add(pair)
        pair.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, pair)),
            asyncio.create_task(self._pump(up_reader, writer, pair)),
        ]

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: _Pair) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()  # frozen: hold the bytes, answer nothing
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._drop(pair)

    def _drop(self, pair: _Pair) -> None:
        if pair not in self._pairs:
            return
        self._pairs.discard(pair)
        for writer in (pair.client, pair.upstream):
            with contextlib.suppress(Exception):
                writer.transport.abort()  # a reset, as when a server or a middlebox dies
        current = asyncio.current_task()
        for task in pair.tasks:
            if task is not current:
                task.cancel()

    def freeze(self) -> None:
        """Blackhole: connections still open (even new ones), but no byte goes through."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def kill_connections(self) -> None:
        for pair in list(self._pairs):
            self._drop(pair)

    async def refuse(self) -> None:
        """Stop listening and drop every connection: new connections are refused."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.kill_connections()

    async def heal(self) -> None:
        self.thaw()
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.refuse()


@dataclass
class Outcome:
    started: float
    elapsed: float
    status: int | None  # None: the request did not answer within the test's own bound
    body: Any = None


async def timed(send: Callable[[], Awaitable[Any]], bound: float = 10.0) -> Outcome:
    """Run one request, bounded by ``bound`` seconds (a hang is reported, never waited out)."""
    started = time.monotonic()
    try:
        response = await asyncio.wait_for(send(), bound)
    except TimeoutError:
        return Outcome(started, time.monotonic() - started, None)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Outcome(started, time.monotonic() - started, response.status_code, body)


@dataclass
class Deployment:
    """A production-mode app whose Redis and PostgreSQL path the test can break."""

    client: Any  # httpx.AsyncClient on the app
    ctx: Any  # its HostContext
    redis: RedisServer
    database: CuttablePath


@contextlib.asynccontextmanager
async def breakable_deployment(
    make_settings: Callable[..., Any], database_url: str
) -> AsyncIterator[Deployment]:
    """The app on a private Redis and on PostgreSQL through a cuttable path; healed and torn down after."""
    from core.app import build_context, create_app
    from core.testing.fixtures import serve, truncate

    redis_server = RedisServer()
    redis_server.start()
    target = urlsplit(database_url)
    path = CuttablePath(target.hostname or "127.0.0.1", target.port or 5432)
    await path.start()
    through = urlunsplit(target._replace(netloc=f"{target.username or 'postgres'}@127.0.0.1:{path.port}"))
    ctx = build_context(make_settings(**{"database.url": through, "redis.url": redis_server.url}))
    try:
        async with serve(create_app(ctx=ctx)) as client:
            yield Deployment(client, ctx, redis_server, path)
    finally:
        await path.heal()
        redis_server.close()
        await truncate(ctx)
        await path.close()
