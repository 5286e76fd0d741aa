"""Rate-limit buckets as a client meets them (429 ErrorBody, Retry-After), on the memory store and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar, Request, get
from litestar.testing import AsyncTestClient

from core.http.errors import EXCEPTION_HANDLERS, ApiError
from core.http.ratelimit import RateLimit
from core.state.contract import StateStore
from tests.state.stores import STORE_KINDS, open_store

LOGIN = RateLimit("login:ip", 2, 30)
LOOKUP = RateLimit("lookup:ip", 2, 30)
FAST = RateLimit("fast", 1, 2.0)
TEAPOT = RateLimit("teapot", 1, 30)
BUCKETS = {bucket.name: bucket for bucket in (LOGIN, LOOKUP, FAST, TEAPOT, RateLimit("off", 0, 30))}


def limited_app(state: StateStore) -> Litestar:
    @get("/limited/{bucket:str}")
    async def limited(request: Request, bucket: str, subject: str) -> dict[str, bool]:
        error = ApiError(429, "slow down", code="brewing") if bucket == "teapot" else None
        await BUCKETS[bucket].enforce(request.app.state.store, subject, error)
        return {"ok": True}

    app = Litestar(route_handlers=[limited], exception_handlers=EXCEPTION_HANDLERS)
    app.state.store = state
    return app


@pytest.fixture(params=STORE_KINDS)
async def client(request: pytest.FixtureRequest) -> AsyncIterator[AsyncTestClient]:
    async with (
        open_store(request.param, clients=1, warm=False) as opened,
        AsyncTestClient(app=limited_app(opened.store)) as client,
    ):
        yield client
        # The app ran on the client's own event loop, which owns the Redis connections: close there.
        client.blocking_portal.call(opened.store.close)


async def hit(client: AsyncTestClient, bucket: str, subject: str = "203.0.113.7") -> int:
    response = await client.get(f"/limited/{bucket}", params={"subject": subject})
    return response.status_code


async def test_full_bucket_answers_429_error_body_with_retry_after(client):
    """The hit past the limit gets a 429 ErrorBody with Retry-After in whole seconds and retry_after_ms."""
    assert [await hit(client, "login:ip") for _ in range(2)] == [200, 200]
    response = await client.get("/limited/login:ip", params={"subject": "203.0.113.7"})
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "too_many_requests" and body["status"] == 429 and body["message"]
    retry_ms = body["details"]["retry_after_ms"]
    assert isinstance(retry_ms, int) and 0 < retry_ms <= 30_000
    header = response.headers["Retry-After"]
    assert header.isdigit() and 1 <= int(header) <= 30
    assert int(header) * 1000 >= retry_ms  # whole seconds, rounded up: never earlier than the real wait


async def test_retry_after_is_at_least_one_second(client):
    """Even when the slot frees in well under a second, Retry-After says 1 (never 0)."""
    assert await hit(client, "fast") == 200
    await asyncio.sleep(1.2)
    response = await client.get("/limited/fast", params={"subject": "203.0.113.7"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert 0 < response.json()["details"]["retry_after_ms"] <= 800


async def test_client_may_retry_after_the_advertised_wait(client):
    """Waiting retry_after_ms lets the next request through."""
    assert await hit(client, "fast") == 200
    response = await client.get("/limited/fast", params={"subject": "203.0.113.7"})
    assert response.status_code == 429
    await asyncio.sleep(response.json()["details"]["retry_after_ms"] / 1000 + 0.05)
    assert await hit(client, "fast") == 200


async def test_buckets_with_the_same_subject_do_not_share_counts(client):
    """Filling one bucket for a subject leaves another bucket for the same subject untouched."""
    assert [await hit(client, "login:ip") for _ in range(3)] == [200, 200, 429]
    assert [await hit(client, "lookup:ip") for _ in range(3)] == [200, 200, 429]


async def test_subjects_do_not_share_counts(client):
    """Each subject has its own count within a bucket."""
    assert [await hit(client, "login:ip", "198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert await hit(client, "login:ip", "198.51.100.2") == 200


async def test_limit_zero_disables_the_bucket(client):
    """A bucket configured with limit 0 never refuses."""
    assert [await hit(client, "off") for _ in range(5)] == [200] * 5


async def test_custom_error_still_carries_retry_after(client):
    """A bucket raising its own error keeps that body and still sends Retry-After."""
    assert await hit(client, "teapot") == 200
    response = await client.get("/limited/teapot", params={"subject": "203.0.113.7"})
    assert response.status_code == 429
    assert response.json()["code"] == "brewing"
    assert 1 <= int(response.headers["Retry-After"]) <= 30


def test_bucket_keys_cannot_collide():
    """Keys of distinct buckets differ for any subjects, even subjects full of colons (IPv6)."""
    a, b = RateLimit("device", 1, 60), RateLimit("device:ip", 1, 60)
    assert a.key("ip:2001:db8::1") != b.key("2001:db8::1")
    assert LOGIN.key("x") != LOOKUP.key("x")
    with pytest.raises(ValueError, match="bucket name"):
        RateLimit("bad|name", 1, 60)
