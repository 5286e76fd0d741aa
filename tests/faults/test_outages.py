"""Dependency outages while traffic runs: every answer is 503 ErrorBody within 2 s or a success, never a
500 or a hang, routes that need neither dependency keep working, and service comes back by itself
within 5 s of the dependency returning.

Production backend: a private Redis (stopped, frozen, restarted empty, connections killed) and
PostgreSQL reached through a path the test can cut (refused, blackholed, connections dropped, backends
terminated by the server). Embedded backend: the SQLite file held under an exclusive lock by another
process. Each scenario prints its time-to-503 and time-to-recover.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from core.settings import Settings
from core.testing import factories
from plugins.oauth_device.tests.helpers import DEVICE, device_login
from tests.support.faults import CuttablePath, Outcome, RedisServer, breakable_deployment, timed
from tests.support.tokens import bearer, console_login

OUTAGE_ANSWER_SECONDS = 2.0
RECOVERY_SECONDS = 5.0
BROKEN_FOR = 3.0  # seconds of traffic against the broken dependency


Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass
class World:
    client: httpx.AsyncClient
    token: str
    csrf: str
    settings: Settings


def _routes(world: World) -> dict[str, Send]:
    """One request per route family: each needs the database, the state store, or both."""
    auth = bearer(world.token)

    async def workspaces(c: httpx.AsyncClient) -> httpx.Response:
        return await c.get("/openapi/v1/workspaces", headers=auth)

    async def sessions(c: httpx.AsyncClient) -> httpx.Response:
        return await c.get("/openapi/v1/account/sessions", headers=auth)

    async def code(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post(f"{DEVICE}/code", json={"client_id": "difyctl", "device_label": "outage"})

    async def poll(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post(f"{DEVICE}/token", json={"device_code": "dc_" + "A" * 32, "client_id": "difyctl"})

    async def lookup(c: httpx.AsyncClient) -> httpx.Response:
        return await c.get(f"{DEVICE}/lookup", params={"user_code": "BDJK-MPQR"})

    async def profile(c: httpx.AsyncClient) -> httpx.Response:
        return await c.get("/console/api/account/profile")

    return {
        "workspaces": workspaces,
        "sessions": sessions,
        "device_code": code,
        "poll": poll,
        "lookup": lookup,
        "profile": profile,
    }


# Answers a route may give when its dependencies are healthy.
HEALTHY = {
    "workspaces": {200},
    "sessions": {200},
    "device_code": {200, 429},
    "poll": {400},
    "lookup": {200, 429},
    "profile": {200},
}


def _is_outage_answer(outcome: Outcome) -> bool:
    body = outcome.body if isinstance(outcome.body, dict) else {}
    return outcome.status == 503 and body.get("code") == "service_unavailable" and body.get("status") == 503


async def _drive(world: World, seconds: float) -> dict[str, list[Outcome]]:
    """Send every route's request over and over, concurrently, for ``seconds``."""
    routes = _routes(world)
    results: dict[str, list[Outcome]] = {name: [] for name in [*routes, "healthz"]}
    deadline = time.monotonic() + seconds

    async def loop(name: str, send: Send) -> None:
        while time.monotonic() < deadline:
            results[name].append(await timed(lambda: send(world.client)))

    async def health(c: httpx.AsyncClient) -> httpx.Response:
        return await c.get("/healthz")

    await asyncio.gather(*(loop(n, s) for n, s in routes.items()), loop("healthz", health))
    return results


def _check_outage(results: dict[str, list[Outcome]], label: str) -> float:
    """Every answer during the outage: healthz 200, the rest a success or 503 ErrorBody, each fast."""
    problems = []
    worst = 0.0
    for name, outcomes in results.items():
        for outcome in outcomes:
            worst = max(worst, outcome.elapsed)
            if outcome.status is None:
                problems.append(f"{name}: no answer within 10 s")
            elif outcome.elapsed > OUTAGE_ANSWER_SECONDS:
                problems.append(f"{name}: {outcome.status} after {outcome.elapsed:.2f} s")
            elif name == "healthz":
                if outcome.status != 200:
                    problems.append(f"healthz answered {outcome.status}")
            elif outcome.status not in HEALTHY[name] and not _is_outage_answer(outcome):
                problems.append(f"{name}: {outcome.status} {str(outcome.body)[:120]}")
    assert not problems, f"{label}: " + "; ".join(sorted(set(problems))[:12])
    return worst


async def _time_to_503(world: World, send: Send) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 10:
        outcome = await timed(lambda: send(world.client))
        if _is_outage_answer(outcome):
            return time.monotonic() - started
    raise AssertionError("never answered 503")


async def _time_to_recover(world: World, sends: dict[str, Send]) -> float:
    """Seconds until every route gives a healthy answer again."""
    started = time.monotonic()
    pending = dict(sends)
    while pending and time.monotonic() - started < 15:
        for name, send in list(pending.items()):
            outcome = await timed(lambda send=send: send(world.client), 5)
            if outcome.status in HEALTHY[name]:
                del pending[name]
        if pending:
            await asyncio.sleep(0.05)
    assert not pending, f"not recovered after 15 s: {sorted(pending)}"
    return time.monotonic() - started


def _report(label: str, to_503: float, worst: float, recover: float) -> None:
    print(f"\n[outage] {label}: time-to-503 {to_503:.2f} s, slowest answer {worst:.2f} s, "
          f"time-to-recover {recover:.2f} s")


# ---------------------------------------------------------------------------------------------------
# production backend: PostgreSQL through a cuttable path, a private Redis


@pytest.fixture
async def production(backend: str, database_url: str, make_settings: Any) -> AsyncIterator[Any]:
    if backend != "postgres":
        pytest.skip("Redis and PostgreSQL outages: the production backend")
    async with breakable_deployment(make_settings, database_url) as deployment:
        alice = await factories.person(deployment.ctx, email="outage@example.com")
        await factories.workspace(deployment.ctx, "Outage Inc", (alice, "owner"))
        payload = await device_login(deployment.client, alice)
        csrf = await console_login(deployment.client, alice)
        world = World(deployment.client, payload["token"], csrf, deployment.ctx.settings)
        yield world, deployment.redis, deployment.database, deployment.ctx


async def _break(kind: str, redis_server: RedisServer, path: CuttablePath) -> None:
    if kind == "redis refused":
        redis_server.stop()
    elif kind == "redis frozen":
        redis_server.freeze()
    elif kind == "database refused":
        await path.refuse()
    elif kind == "database blackholed":
        path.freeze()


async def _heal(kind: str, redis_server: RedisServer, path: CuttablePath) -> None:
    if kind == "redis refused":
        redis_server.start()
    elif kind == "redis frozen":
        redis_server.resume()
    else:
        await path.heal()


@pytest.mark.parametrize("kind", ["redis refused", "redis frozen", "database refused", "database blackholed"])
async def test_outage_answers_503_fast_and_recovers(production: Any, kind: str) -> None:
    """While a dependency is refused or frozen every route answers 503 ErrorBody (with Retry-After)
    within 2 s or still succeeds, /healthz keeps answering 200, and all routes recover within 5 s."""
    world, redis_server, path, _ = production
    routes = _routes(world)
    probe = routes["lookup"] if kind.startswith("redis") else routes["profile"]
    await _break(kind, redis_server, path)
    try:
        to_503 = await _time_to_503(world, probe)
        results = await _drive(world, BROKEN_FOR)
        worst = _check_outage(results, kind)
    finally:
        await _heal(kind, redis_server, path)
    recover = await _time_to_recover(world, routes)
    _report(kind, to_503, worst, recover)
    assert to_503 < OUTAGE_ANSWER_SECONDS
    assert recover < RECOVERY_SECONDS


async def test_503_carries_retry_after(production: Any) -> None:
    """The outage answer tells the client when to come back."""
    world, redis_server, _, _ = production
    redis_server.stop()
    try:
        response = await world.client.get(f"{DEVICE}/lookup", params={"user_code": "BDJK-MPQR"})
    finally:
        redis_server.start()
    assert response.status_code == 503
    assert response.json() == {
        "code": "service_unavailable",
        "message": "a service this server depends on is unavailable; try again shortly",
        "status": 503,
    }
    assert int(response.headers["retry-after"]) >= 1


async def test_redis_restarted_empty_costs_no_error_after_it_answers(production: Any) -> None:
    """Redis restarted with nothing in it: once it answers, every route succeeds on the first try (the
    auth cache refills from the database, dead pooled connections are replaced)."""
    world, redis_server, _, _ = production
    routes = _routes(world)
    redis_server.restart_empty()
    await asyncio.sleep(0.05)  # the event loop reads the closed connections' end-of-file
    for name, send in routes.items():
        response = await send(world.client)
        assert response.status_code in HEALTHY[name], (name, response.status_code, response.text)


async def test_redis_connections_killed_cost_no_error(production: Any) -> None:
    """Every pooled Redis connection cut by the server (CLIENT KILL): the next requests all succeed."""
    world, redis_server, _, _ = production
    routes = _routes(world)
    redis_server.kill_clients()
    await asyncio.sleep(0.05)  # the server closes the sockets; the client sees EOF on its next read
    for name, send in routes.items():
        response = await send(world.client)
        assert response.status_code in HEALTHY[name], (name, response.status_code, response.text)


async def test_database_connections_dropped_cost_no_error(production: Any) -> None:
    """Every pooled PostgreSQL connection dropped on the way (a failover, a middlebox restart): the
    next requests all succeed on fresh connections."""
    world, _, path, _ = production
    routes = _routes(world)
    for send in routes.values():  # warm the pool
        await send(world.client)
    path.kill_connections()
    await asyncio.sleep(0.05)
    for name, send in routes.items():
        response = await send(world.client)
        assert response.status_code in HEALTHY[name], (name, response.status_code, response.text)


async def test_database_backends_terminated_cost_no_error(production: Any, database_url: str) -> None:
    """``pg_terminate_backend`` on every connection of this database (what a restart does to them): the
    next requests all succeed; dead pooled connections are found and replaced before use."""
    world, _, _, _ = production
    routes = _routes(world)
    for send in routes.values():
        await send(world.client)
    name = urlsplit(database_url).path.lstrip("/")
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": name},
            )
            for _ in range(100):  # until the server has really closed them
                left = await conn.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
                )
                if not left:
                    break
                await asyncio.sleep(0.02)
    finally:
        await admin.dispose()
    await asyncio.sleep(0.05)
    for route, send in routes.items():
        response = await send(world.client)
        assert response.status_code in HEALTHY[route], (route, response.status_code, response.text)


# ---------------------------------------------------------------------------------------------------
# embedded backend: the SQLite file locked by another process


async def test_sqlite_locked_by_another_process_answers_503_fast(backend: str, client: Any, host: Any):
    """Another process holds the SQLite file's write lock: writes answer 503 ErrorBody within 2 s
    (never a hang on the lock), reads keep working, and writes succeed once the lock is released."""
    if backend != "sqlite":
        pytest.skip("the embedded backend's own outage")
    alice = await factories.person(host, email="locked@example.com")
    await factories.workspace(host, "Locked Inc", (alice, "owner"))
    payload = await device_login(client, alice)
    path = host.engine.url.database
    holder = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    auth = bearer(payload["token"])
    assert (await client.get("/openapi/v1/workspaces", headers=auth)).status_code == 200  # cache warm
    holder.execute("BEGIN IMMEDIATE")  # the write lock; readers still read (WAL)
    try:
        reading = await asyncio.wait_for(client.get("/openapi/v1/account/sessions", headers=auth), 10)
        assert reading.status_code == 200, reading.text
        started = time.monotonic()
        response = await asyncio.wait_for(
            client.delete("/openapi/v1/account/sessions/self", headers=auth), 10
        )
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    print(f"\n[outage] sqlite locked: answered {response.status_code} in {elapsed:.2f} s")
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
    assert elapsed < OUTAGE_ANSWER_SECONDS
    # The lock is gone: the same write now succeeds.
    response = await client.delete("/openapi/v1/account/sessions/self", headers=auth)
    assert response.status_code == 200


async def test_shutdown_with_redis_down_is_clean(backend: str, make_settings: Any) -> None:
    """Stopping the API while Redis refuses: the shutdown completes (jobs queue, state store and
    database pool each released on their own), no error escapes."""
    if backend != "postgres":
        pytest.skip("the production backend's Redis")
    from core.app import build_context, create_app
    from core.testing.fixtures import running

    redis_server = RedisServer()
    redis_server.start()
    try:
        settings = make_settings(**{"redis.url": redis_server.url, "jobs.backend": "saq"})
        ctx = build_context(settings)
        app = create_app(ctx=ctx)
        async with running(app):
            await ctx.state.set("k", b"v")
            redis_server.stop()
        assert ctx.engine.pool.checkedout() == 0
    finally:
        redis_server.close()
