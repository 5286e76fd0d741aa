"""A connection pool whose waiters are served first come, first served.

SQLAlchemy's asyncio pool waits on an ``asyncio.Queue``. When a connection comes back, that queue
wakes the first waiter, but a request arriving in the meantime may take the connection first; the
woken waiter then queues again at the back. Under saturation (more requests than connections) a few
unlucky requests wait again and again: measured p99 of 0.5 s against a p50 of 14 ms on the sessions
list, 64 clients on a pool of 20. Handing a returned connection straight to the longest waiter keeps
the queue fair (p99 69 ms with an ample pool, the same figure the fair queue aims for).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import memoized_property
from sqlalchemy.util.queue import AsyncAdaptedQueue


class FairQueue(asyncio.Queue):
    """An asyncio queue that gives each new item to the longest waiter, so nobody can overtake."""

    def put_nowait(self, item: Any) -> None:
        while self._getters:  # type: ignore[attr-defined]
            getter = self._getters.popleft()  # type: ignore[attr-defined]
            if not getter.done():
                getter.set_result(item)
                return
        super().put_nowait(item)

    async def get(self) -> Any:
        # Items are only ever queued while nobody waits (put_nowait hands them over otherwise).
        if not self.empty():
            return self.get_nowait()
        getter = self._get_loop().create_future()  # type: ignore[attr-defined]
        self._getters.append(getter)  # type: ignore[attr-defined]
        try:
            return await getter
        except BaseException:
            if getter.done() and not getter.cancelled():
                # Handed an item, then cancelled (a checkout timeout): pass the item on.
                self.put_nowait(getter.result())
            else:
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)  # type: ignore[attr-defined]
            raise


class FairAsyncAdaptedQueue(AsyncAdaptedQueue):
    @memoized_property
    def _queue(self) -> asyncio.Queue:
        # Created on first use, like SQLAlchemy's, so it binds to the loop that runs the app.
        return FairQueue(maxsize=self.maxsize)


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    """``AsyncAdaptedQueuePool`` with first-come, first-served checkouts."""

    _queue_class = FairAsyncAdaptedQueue
