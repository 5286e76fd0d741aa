"""In-memory state store for the embedded default (one process). Atomic because every method runs
without an ``await`` between its read and its write: the event loop cannot interleave another call."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.state.contract import Exchange, Get, HitWindow, Incr, Operation, SetIfAbsent, WindowVerdict

# Expired entries are dropped when read; a sweep at most this often (seconds) catches the unread ones.
SWEEP_INTERVAL = 60.0


class MemoryStateStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[bytes, float | None]] = {}
        # key -> (window length, ascending hit times); the length lets a sweep drop idle windows.
        self._windows: dict[str, tuple[float, list[float]]] = {}
        self._next_sweep = clock() + SWEEP_INTERVAL

    def _live(self, key: str) -> tuple[bytes, float | None] | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= self._clock():
            del self._values[key]
            return None
        return entry

    def _expiry(self, ttl: float | None) -> float | None:
        self._maybe_sweep()
        return None if ttl is None else self._clock() + ttl

    def _maybe_sweep(self) -> None:
        if self._clock() >= self._next_sweep:
            self.sweep()

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._values[key] = (value, self._expiry(ttl))

    async def set_if_absent(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._values[key] = (value, self._expiry(ttl))
        return True

    async def exchange(self, key: str, value: bytes, ttl: float | None = None) -> bytes | None:
        previous = self._live(key)
        self._values[key] = (value, self._expiry(ttl))
        return None if previous is None else previous[0]

    async def compare_and_set(
        self,
        key: str,
        expected: bytes,
        value: bytes,
        *,
        ttl: float | None = None,
        min_ttl: float | None = None,
    ) -> bool:
        entry = self._live(key)
        if entry is None or entry[0] != expected:
            return False
        expires = entry[1]
        if ttl is not None:
            expires = self._expiry(ttl)
        elif min_ttl is not None and expires is not None:
            # A key without expiry already outlives any floor: it stays persistent.
            expires = max(expires, self._clock() + min_ttl)
        self._values[key] = (value, expires)
        return True

    async def compare_and_delete(self, key: str, expected: bytes) -> bool:
        entry = self._live(key)
        if entry is None or entry[0] != expected:
            return False
        del self._values[key]
        return True

    async def consume(self, key: str) -> bytes | None:
        entry = self._live(key)
        if entry is None:
            return None
        del self._values[key]
        return entry[0]

    async def delete(self, *keys: str) -> int:
        removed = 0
        for key in keys:
            if self._live(key) is not None:
                del self._values[key]
                removed += 1
            self._windows.pop(key, None)
        return removed

    async def ttl(self, key: str) -> float | None:
        entry = self._live(key)
        if entry is None or entry[1] is None:
            return None
        return max(entry[1] - self._clock(), 0.0)

    async def incr(self, key: str, ttl: float | None = None) -> int:
        entry = self._live(key)
        if entry is None:
            self._values[key] = (b"1", self._expiry(ttl))
            return 1
        count = int(entry[0]) + 1
        self._values[key] = (str(count).encode(), entry[1])
        return count

    async def hit_window(self, key: str, limit: int, window: float) -> WindowVerdict:
        self._maybe_sweep()
        now = self._clock()
        hits = self._windows.setdefault(key, (window, []))[1]
        self._windows[key] = (window, hits)
        del hits[: bisect.bisect_right(hits, now - window)]
        if len(hits) >= limit:
            wait = hits[0] + window - now if hits else window
            return WindowVerdict(False, len(hits), max(wait, 0.001))
        hits.append(now)
        return WindowVerdict(True, len(hits), 0.0)

    async def batch(self, operations: Sequence[Operation]) -> list[Any]:
        results: list[Any] = []
        for operation in operations:
            match operation:
                case Get(key):
                    results.append(await self.get(key))
                case SetIfAbsent(key, value, ttl):
                    results.append(await self.set_if_absent(key, value, ttl))
                case Exchange(key, value, ttl):
                    results.append(await self.exchange(key, value, ttl))
                case Incr(key, ttl):
                    results.append(await self.incr(key, ttl))
                case HitWindow(key, limit, window):
                    results.append(await self.hit_window(key, limit, window))
        return results

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        """Nothing to release; the data stays, so a context may serve another app lifespan after this."""

    def sweep(self) -> int:
        """Drop expired entries and idle windows, so keys nobody reads again do not pile up."""
        now = self._clock()
        self._next_sweep = now + SWEEP_INTERVAL
        dead = [key for key, (_, exp) in self._values.items() if exp is not None and exp <= now]
        for key in dead:
            del self._values[key]
        idle = [key for key, (window, hits) in self._windows.items() if not hits or hits[-1] <= now - window]
        for key in idle:
            del self._windows[key]
        return len(dead) + len(idle)
