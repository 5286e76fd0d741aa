"""The bearer pipeline's per-process near cache and its single-flight lookups (both backends)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from core.auth import ACCOUNT, hash_token
from core.auth.bearer import CACHE_PREFIX, forget_token
from tests.auth.bearer_probe import Clock, bearer, running

NEAR = {"bearer.local_cache_seconds": 1.0}


async def call(run: Any, token: str):
    return await run.client.get("/openapi/v1/probe/any", headers=bearer(token))


@contextmanager
def auth_cache_reads(state: Any) -> Iterator[list[str]]:
    """Count the real store's reads of auth-cache entries, alone or among several keys (an instance
    attribute shadows the method; the memory store's get_many calls its own get, counted once)."""
    keys: list[str] = []
    real_get, real_many = state.get, state.get_many
    inside: list[bool] = []

    async def get(key: str) -> bytes | None:
        if key.startswith(CACHE_PREFIX) and not inside:
            keys.append(key)
        return await real_get(key)

    async def get_many(many: list[str]) -> list[bytes | None]:
        keys.extend(key for key in many if key.startswith(CACHE_PREFIX))
        inside.append(True)
        try:
            return await real_many(many)
        finally:
            inside.pop()

    state.get, state.get_many = get, get_many
    try:
        yield keys
    finally:
        del state.get, state.get_many


async def test_near_cache_hit_skips_the_state_store(make_settings):
    """A hot token is answered from process memory: no state-store read until the near cache lapses."""
    async with running(make_settings, **NEAR) as run:
        token = run.probe.mint(ACCOUNT)
        with auth_cache_reads(run.ctx.state) as reads:
            assert (await call(run, token)).status_code == 200
            assert len(reads) == 1
            for _ in range(5):
                assert (await call(run, token)).status_code == 200
            assert len(reads) == 1
            await asyncio.sleep(1.1)
            assert (await call(run, token)).status_code == 200
            assert len(reads) == 2, "after local_cache_seconds the shared cache is read again"
        assert run.probe.resolve_calls() == 1


async def test_near_cache_is_bounded(make_settings):
    """With room for one token, a second token pushes the first out of the near cache."""
    async with running(make_settings, **NEAR, **{"bearer.local_cache_size": 1}) as run:
        first, second = run.probe.mint(ACCOUNT), run.probe.mint(ACCOUNT)
        with auth_cache_reads(run.ctx.state) as reads:
            for token in (first, first, second, second, first):
                assert (await call(run, token)).status_code == 200
            assert len(reads) == 3


async def test_forget_token_drops_the_near_cache_entry(make_settings):
    """A revocation through forget_token is refused on the very next request of the same process."""
    async with running(make_settings, **NEAR) as run:
        token = run.probe.mint(ACCOUNT)
        assert (await call(run, token)).status_code == 200
        run.probe.revoke(token)
        assert (await call(run, token)).status_code == 200  # still cached, nothing was forgotten
        await forget_token(run.ctx.state, hash_token(token))
        response = await call(run, token)
        assert response.status_code == 401
        assert response.json()["message"] == "token unknown or revoked"


async def test_other_replica_sees_a_revocation_within_local_cache_seconds(make_settings, backend):
    """A second replica on the same Redis may accept a revoked token only until its near cache lapses."""
    if backend != "postgres":
        pytest.skip("replicas share state only through Redis (the postgres backend)")
    prefix = make_settings().state.key_prefix
    overrides = {**NEAR, "state.key_prefix": prefix}
    async with running(make_settings, **overrides) as first, running(make_settings, **overrides) as second:
        token = first.probe.mint(ACCOUNT)
        second.probe.records.update(first.probe.records)
        assert (await call(first, token)).status_code == 200
        assert (await call(second, token)).status_code == 200
        assert second.probe.resolve_calls() == 0  # it read the shared cache
        first.probe.revoke(token)
        second.probe.revoke(token)
        await forget_token(first.ctx.state, hash_token(token))
        assert (await call(first, token)).status_code == 401
        assert (await call(second, token)).status_code == 200  # its near cache has not lapsed yet
        await asyncio.sleep(1.1)
        response = await call(second, token)
        assert response.status_code == 401
        assert response.json()["message"] == "token unknown or revoked"


async def test_expiry_is_enforced_on_a_near_cache_hit(make_settings):
    """A token that expires while in the near cache answers token_expired and is hard-expired once."""
    async with running(make_settings, **NEAR) as run:
        clock = Clock()
        run.use_clock(clock)
        token = run.probe.mint(ACCOUNT, expires_in=30, now=clock.now)
        assert (await call(run, token)).status_code == 200
        clock.now += 31
        for _ in range(2):
            response = await call(run, token)
            assert response.status_code == 401
            assert response.json()["code"] == "token_expired"
        assert run.probe.resolve_calls() == 1
        assert len(run.probe.expire_calls()) == 1


async def test_concurrent_first_requests_resolve_once(make_settings):
    """Fifty simultaneous first requests with one token cause a single resolution by the plugin."""
    async with running(make_settings, **NEAR) as run:
        token = run.probe.mint(ACCOUNT)
        responses = await asyncio.gather(*(call(run, token) for _ in range(50)))
        assert [r.status_code for r in responses] == [200] * 50
        assert run.probe.resolve_calls() == 1


async def test_concurrent_unknown_token_resolves_once(make_settings):
    """Fifty simultaneous requests with an unknown token are all refused after one resolution."""
    async with running(make_settings, **NEAR) as run:
        token = "dfoa_" + "y" * 43
        responses = await asyncio.gather(*(call(run, token) for _ in range(50)))
        assert {r.status_code for r in responses} == {401}
        assert {r.json()["message"] for r in responses} == {"token unknown or revoked"}
        assert run.probe.resolve_calls() == 1
