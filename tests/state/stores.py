"""Open a state store of either kind for a test: in-memory, or real Redis (db 15) under a unique prefix.

For Redis, ``handles`` are separate clients (each with its own connection pool) on the same prefix, so
concurrent tests race over several connections the way replicas do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from core.state.contract import StateStore
from core.state.memory import MemoryStateStore
from core.state.redis import RedisStateStore
from core.testing.fixtures import REDIS_URL

STORE_KINDS = ["memory", "redis"]


@dataclass
class OpenStore:
    kind: str
    store: StateStore
    handles: list[StateStore]  # views of the same data; for Redis each has its own connections

    def handle(self, index: int) -> StateStore:
        return self.handles[index % len(self.handles)]


@asynccontextmanager
async def open_store(kind: str, clients: int = 8, warm: bool = True) -> AsyncIterator[OpenStore]:
    """``warm=False`` when another event loop will use the store (litestar's test client runs the app
    on its own loop, and a Redis connection belongs to the loop that opened it)."""
    if kind == "memory":
        store = MemoryStateStore()
        yield OpenStore(kind, store, [store])
        return
    prefix = f"tstate{uuid.uuid4().hex[:12]}:"
    stores = [RedisStateStore.from_url(REDIS_URL, prefix) for _ in range(clients)]
    # Open the connections up front, so that a concurrent test races commands, not connection setups.
    if warm:
        await asyncio.gather(*(store.ping() for store in stores for _ in range(100 // clients + 1)))
    try:
        yield OpenStore(kind, stores[0], list(stores))
    finally:
        cleaner = Redis.from_url(REDIS_URL)
        keys = [key async for key in cleaner.scan_iter(match=prefix + "*")]
        if keys:
            await cleaner.delete(*keys)
        await cleaner.aclose()
        for store in stores:
            await store.close()
