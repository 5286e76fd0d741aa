"""What only the Redis store has: key prefixes, replicas sharing state, and the memory store's sweeping."""

from __future__ import annotations

import uuid

from core.state.memory import MemoryStateStore
from core.state.redis import RedisStateStore
from core.testing.fixtures import REDIS_URL


async def test_redis_prefixes_isolate_deployments():
    """Two deployments on one Redis with different key prefixes do not see each other's keys."""
    one = RedisStateStore.from_url(REDIS_URL, f"tiso{uuid.uuid4().hex[:8]}:")
    two = RedisStateStore.from_url(REDIS_URL, f"tiso{uuid.uuid4().hex[:8]}:")
    try:
        await one.set("k", b"one", ttl=30)
        assert await two.get("k") is None
        assert await two.set_if_absent("k", b"two", ttl=30) is True
        assert await one.get("k") == b"one"
    finally:
        await one.delete("k")
        await two.delete("k")
        await one.close()
        await two.close()


async def test_redis_replicas_share_state():
    """Two clients with the same prefix (two API replicas) see one another's writes."""
    prefix = f"trep{uuid.uuid4().hex[:8]}:"
    one, two = RedisStateStore.from_url(REDIS_URL, prefix), RedisStateStore.from_url(REDIS_URL, prefix)
    try:
        await one.set("k", b"v", ttl=30)
        assert await two.consume("k") == b"v"
        assert await one.get("k") is None
    finally:
        await one.close()
        await two.close()


async def test_redis_ping_false_when_unreachable():
    """ping answers False (not an exception) when Redis cannot be reached."""
    store = RedisStateStore.from_url("redis://127.0.0.1:1/0")
    assert await store.ping() is False
    await store.close()


async def test_memory_sweep_drops_expired_values_and_idle_windows():
    """The memory store forgets expired keys and idle windows even when nobody reads them again."""
    now = [1000.0]
    store = MemoryStateStore(clock=lambda: now[0])
    await store.set("short", b"v", ttl=5)
    await store.set("forever", b"v")
    await store.hit_window("w", 3, 10)
    now[0] += 11
    assert store.sweep() == 2
    assert await store.get("forever") == b"v"
    assert (await store.hit_window("w", 1, 10)).allowed is True


async def test_memory_sweeps_by_itself():
    """Writes trigger a periodic sweep, so a long-running embedded server does not grow without bound."""
    now = [1000.0]
    store = MemoryStateStore(clock=lambda: now[0])
    for index in range(100):
        await store.set(f"k{index}", b"v", ttl=1)
    now[0] += 61
    await store.set("trigger", b"v", ttl=1)
    assert store.sweep() == 0  # the write already swept the 100 expired keys


async def test_redis_batch_is_one_round_trip_and_survives_a_flushed_script_cache():
    """A batch is one pipeline: Redis sees one read event for it. After SCRIPT FLUSH (what a restart
    does) the window hit still counts, loaded and run on its own."""
    from redis.asyncio import Redis

    from core.state.contract import Get, HitWindow, SetIfAbsent
    from tests.support.faults import RedisServer

    private = RedisServer()  # its read counter counts only this test's traffic
    private.start()
    store = RedisStateStore.from_url(private.url, "tbatch:")
    admin = Redis.from_url(private.url)
    try:
        # Connect and load the window script first: neither the handshake nor SCRIPT LOAD is the batch.
        await store.hit_window("warm", 1, 1)
        before = (await admin.info("stats"))["total_reads_processed"]
        await store.batch([HitWindow("w", 5, 10), SetIfAbsent("m", b"1", ttl=5), Get("m")])
        after = (await admin.info("stats"))["total_reads_processed"]
        assert after - before == 2  # the batch, and the first INFO call itself
        await admin.script_flush()
        verdict, _ = await store.batch([HitWindow("w", 5, 10), Get("m")])
        assert verdict.allowed is True and verdict.count == 2
    finally:
        await store.close()
        await admin.aclose()
        private.close()
