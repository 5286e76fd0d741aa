"""Load that wrk cannot script: interval-paced pollers and device-flow logins (httpx, asyncio)."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from device_flow import CLIENT_ID, DEVICE_PATH, classify_answer, poll_body, walk_device_flow

# RFC 2544's benchmarking range: client addresses the bench's trusted "load balancer" forwards (the same
# range as wrk.xff_lua's).
_BENCH_NET = (198, 18)


def bench_ip(n: int) -> str:
    n %= 2 * 65536
    return f"{_BENCH_NET[0]}.{_BENCH_NET[1] + n // 65536}.{(n // 256) % 256}.{n % 256}"


_ip_counter = itertools.count(random.randrange(0, 65536))


def next_client_ip() -> str:
    return bench_ip(next(_ip_counter))


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class LoadResult:
    count: int
    seconds: float
    latencies_ms: list[float]
    answers: Counter[str] = field(default_factory=Counter)
    client_cpu_s: float = 0.0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "seconds": round(self.seconds, 2),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "answers": dict(self.answers),
            "client_cpu_s": round(self.client_cpu_s, 2),
        }


async def issue_device_codes(base: str, count: int, concurrency: int = 16) -> list[str]:
    """``count`` pending device codes, each requested from its own (forwarded) client address."""
    codes: list[str] = []

    async def worker(client: httpx.AsyncClient, todo: Iterator[int]) -> None:
        for _ in todo:
            response = await client.post(
                f"{DEVICE_PATH}/code",
                json={"client_id": CLIENT_ID, "device_label": f"storm {uuid.uuid4().hex[:8]}"},
                headers={"X-Forwarded-For": next_client_ip()},
            )
            response.raise_for_status()
            codes.append(response.json()["device_code"])

    todo = iter(range(count))
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await asyncio.gather(*(worker(client, todo) for _ in range(concurrency)))
    return codes


class RawConnection:
    """A keep-alive HTTP/1.1 connection with almost no client-side cost (httpx would need more CPU than
    the server at a thousand concurrent pollers on two cores)."""

    # uvicorn closes connections idle for 5 s (its keep-alive timeout): a client polling every 5 s, like
    # difyctl, connects anew for each poll. The connect is part of the measured latency.
    IDLE_REUSE_S = 4.0

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def post_json(self, path: str, body: bytes, forwarded_for: str = "") -> tuple[int, bytes]:
        if self.writer is None or time.perf_counter() - self.last_used > self.IDLE_REUSE_S:
            self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
        forwarded = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"{forwarded}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        payload = await self.reader.readexactly(length)
        self.last_used = time.perf_counter()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def paced_poll_storm(
    base: str, device_codes: list[str], interval: float, duration: float
) -> LoadResult:
    """Every code polled by its own client on its own connection, like difyctl: first at a random moment
    of the first interval, then ``interval`` seconds after each answer, until ``duration`` is over.
    Each client has its own address (forwarded through the trusted load balancer), as a thousand
    people logging in from a thousand machines do."""
    from urllib.parse import urlsplit

    url = urlsplit(base)
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    started = time.perf_counter()
    cpu_started = time.process_time()
    deadline = started + duration

    async def poller(device_code: str) -> None:
        connection = RawConnection(url.hostname or "127.0.0.1", url.port or 80)
        body = poll_body(device_code).encode()
        address = next_client_ip()
        try:
            await asyncio.sleep(random.uniform(0, interval))
            while True:
                sent = time.perf_counter()
                status, answer = await connection.post_json(f"{DEVICE_PATH}/token", body, address)
                latencies.append((time.perf_counter() - sent) * 1000)
                answers[classify_answer(status, answer)] += 1
                if time.perf_counter() + interval >= deadline:
                    break
                await asyncio.sleep(interval)
        finally:
            connection.close()

    await asyncio.gather(*(poller(code) for code in device_codes))
    return LoadResult(len(latencies), duration, latencies, answers, time.process_time() - cpu_started)


@dataclass
class ConsoleIdentity:
    """A console session (cookies as the login route sets them) for one account; approvals are limited
    per account per hour, so logins rotate over a pool of these."""

    cookie: str
    csrf: str
    uses: int = 0


class IdentityPool:
    def __init__(self, identities: list[ConsoleIdentity], per_identity: int) -> None:
        self.identities = identities
        self.per_identity = per_identity
        self._index = 0

    def take(self) -> ConsoleIdentity | None:
        while self._index < len(self.identities):
            identity = self.identities[self._index]
            if identity.uses < self.per_identity:
                identity.uses += 1
                return identity
            self._index += 1
        return None


async def device_logins(base: str, pool: IdentityPool, concurrency: int, duration: float) -> LoadResult:
    """Full difyctl logins (code -> approve -> poll -> token) by ``concurrency`` clients for ``duration``."""
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    started = time.perf_counter()
    cpu_started = time.process_time()
    deadline = started + duration

    async def client_loop(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            identity = pool.take()
            if identity is None:
                answers["identity_pool_exhausted"] += 1
                return
            began = time.perf_counter()
            outcome = await one_login(client, identity)
            answers[outcome] += 1
            if outcome == "token":
                latencies.append((time.perf_counter() - began) * 1000)

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return LoadResult(len(latencies), seconds, latencies, answers, time.process_time() - cpu_started)


async def one_login(client: httpx.AsyncClient, identity: ConsoleIdentity) -> str:
    """One difyctl login from a new client address; its outcome: ``token``, an error code, or the step
    that was refused (``code_429``, ``approve_401`` ...)."""
    step, response = await walk_device_flow(
        client,
        f"bench {uuid.uuid4().hex[:12]}",
        approve_headers={"Cookie": identity.cookie, "X-CSRF-Token": identity.csrf},
        forwarded_for=next_client_ip(),
    )
    if step != "token":
        return f"{step}_{response.status_code}"
    return classify_answer(response.status_code, response.content)
