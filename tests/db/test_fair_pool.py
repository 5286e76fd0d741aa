"""The database pool serves waiting requests first come, first served."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from core.db.pool import FairAsyncQueuePool, FairQueue
from core.testing.fixtures import PG_ADMIN_URL


async def test_a_returned_item_goes_to_the_longest_waiter_not_to_a_newcomer():
    """Three requests wait; when an item comes back the first of them gets it, not one arriving now."""
    queue: FairQueue = FairQueue()
    served: list[str] = []

    async def wait(name: str) -> None:
        served.append(f"{name}:{await queue.get()}")

    waiters = [asyncio.create_task(wait(name)) for name in ("first", "second", "third")]
    await asyncio.sleep(0)
    queue.put_nowait("conn")
    # A newcomer grabbing at once (SQLAlchemy's pool tries get_nowait first) must not take it.
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    newcomer = asyncio.create_task(wait("newcomer"))
    await asyncio.sleep(0.01)
    assert served == ["first:conn"]
    for item in ("a", "b", "c"):
        queue.put_nowait(item)
    await asyncio.gather(*waiters, newcomer)
    assert served == ["first:conn", "second:a", "third:b", "newcomer:c"]


async def test_an_item_handed_to_a_waiter_that_times_out_is_passed_on():
    """A checkout that times out just after being handed a connection does not lose that connection."""
    queue: FairQueue = FairQueue()
    impatient = asyncio.create_task(queue.get())
    patient = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("conn")  # handed to the impatient waiter ...
    impatient.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert await asyncio.wait_for(patient, 1) == "conn"
    assert queue.empty()


async def test_the_postgres_pool_never_exceeds_its_size_and_serves_everyone(backend):
    """Sixty concurrent queries on a pool of three all complete, with at most three connections out."""
    if backend != "postgres":
        pytest.skip("the fair pool is the PostgreSQL engine's pool")
    engine = create_async_engine(PG_ADMIN_URL, poolclass=FairAsyncQueuePool, pool_size=3, max_overflow=0)
    most_out = 0

    async def query(number: int) -> int:
        nonlocal most_out
        async with engine.connect() as connection:
            most_out = max(most_out, engine.pool.checkedout())
            await connection.execute(text("SELECT pg_sleep(0.005)"))
            return number

    try:
        results = await asyncio.wait_for(asyncio.gather(*(query(n) for n in range(60))), 30)
    finally:
        await engine.dispose()
    assert sorted(results) == list(range(60))
    assert most_out == 3
