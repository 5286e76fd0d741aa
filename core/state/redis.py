"""Redis state store. Every multi-step operation is one Lua script, so it is atomic across replicas."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from core.state.contract import Exchange, Get, HitWindow, Incr, Operation, SetIfAbsent, WindowVerdict

# KEYS[1]=key ARGV: expected, new value, mode ("keep"|"ttl"|"min"), milliseconds
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then return 0 end
local mode = ARGV[3]
local ms = tonumber(ARGV[4])
if mode == 'ttl' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ms)
elseif mode == 'min' then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then
    -- PTTL -1: no expiry, which already outlives any floor; keep the key persistent.
    redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  else
    if left < ms then left = ms end
    redis.call('SET', KEYS[1], ARGV[2], 'PX', left)
  end
else
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return 1
"""

_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_INCR = """
local count = redis.call('INCR', KEYS[1])
if count == 1 and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""

# Sliding window on a sorted set, timed by the Redis clock so every replica agrees.
# ARGV: limit, window ms, random token. Returns {allowed, count, retry_after_ms}.
# The member is the Redis time in microseconds plus the caller's random token: two hits in the same
# millisecond must stay two members (a repeated member would overwrite, not count).
_HIT_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local wait = window
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] then wait = tonumber(oldest[2]) + window - now end
  if wait < 1 then wait = 1 end
  return {0, count, wait}
end
redis.call('ZADD', KEYS[1], now, t[1] .. '.' .. t[2] .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window * 2)
return {1, count + 1, 0}
"""


T = TypeVar("T")


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)


async def _read_twice(read: Callable[[], Awaitable[T]]) -> T:
    """A read sent once more on a fresh connection when its connection turns out closed by the server
    (reading twice changes nothing); a timeout is not retried, it would only double the wait."""
    try:
        return await read()
    except RedisConnectionError:
        return await read()


def _verdict(allowed: Any, count: Any, wait_ms: Any) -> WindowVerdict:
    return WindowVerdict(bool(allowed), int(count), int(wait_ms) / 1000)


class RedisStateStore:
    def __init__(self, client: Redis, key_prefix: str = "") -> None:
        self._redis = client
        self._prefix = key_prefix
        self._cas = client.register_script(_COMPARE_AND_SET)
        self._cad = client.register_script(_COMPARE_AND_DELETE)
        self._incr = client.register_script(_INCR)
        self._window = client.register_script(_HIT_WINDOW)

    @classmethod
    def from_url(
        cls, url: str, key_prefix: str = "", *, connect_timeout: float = 1.0, socket_timeout: float = 0.5
    ) -> RedisStateStore:
        """Every wait is bounded: a refused Redis fails at once, a frozen one after ``socket_timeout``.

        A pooled connection the server closed (a restart, CLIENT KILL, a failover) is noticed when it
        is checked out and replaced before use (redis-py reads its pending end-of-file). Only reads
        are sent once more if one still slips through: a write whose connection died mid-command may
        have run, and running a compare-and-set or a consume twice would answer the wrong thing.
        """
        client = Redis.from_url(
            url,
            decode_responses=False,
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            # No CLIENT SETINFO on each new connection: two round trips saved, and none to time out.
            lib_name=None,
            lib_version=None,
        )
        return cls(client, key_prefix)

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        return await _read_twice(lambda: self._redis.get(self._k(key)))

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        return await _read_twice(lambda: self._redis.mget([self._k(key) for key in keys]))

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._redis.set(self._k(key), value, px=None if ttl is None else _ms(ttl))

    async def set_if_absent(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        return bool(await self._redis.set(self._k(key), value, nx=True, px=None if ttl is None else _ms(ttl)))

    async def exchange(self, key: str, value: bytes, ttl: float | None = None) -> bytes | None:
        return await self._redis.set(self._k(key), value, get=True, px=None if ttl is None else _ms(ttl))

    async def compare_and_set(
        self,
        key: str,
        expected: bytes,
        value: bytes,
        *,
        ttl: float | None = None,
        min_ttl: float | None = None,
    ) -> bool:
        if ttl is not None:
            mode, ms = "ttl", _ms(ttl)
        elif min_ttl is not None:
            mode, ms = "min", _ms(min_ttl)
        else:
            mode, ms = "keep", 0
        return bool(await self._cas(keys=[self._k(key)], args=[expected, value, mode, ms]))

    async def compare_and_delete(self, key: str, expected: bytes) -> bool:
        return bool(await self._cad(keys=[self._k(key)], args=[expected]))

    async def consume(self, key: str) -> bytes | None:
        return await self._redis.getdel(self._k(key))  # atomic in Redis itself (6.2+)

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(await self._redis.delete(*[self._k(key) for key in keys]))

    async def ttl(self, key: str) -> float | None:
        left = await _read_twice(lambda: self._redis.pttl(self._k(key)))
        return None if left < 0 else left / 1000

    async def incr(self, key: str, ttl: float | None = None) -> int:
        return int(await self._incr(keys=[self._k(key)], args=[0 if ttl is None else _ms(ttl)]))

    async def hit_window(self, key: str, limit: int, window: float) -> WindowVerdict:
        reply = await self._window(keys=[self._k(key)], args=self._window_args(limit, window))
        return _verdict(*reply)

    @staticmethod
    def _window_args(limit: int, window: float) -> list[Any]:
        return [limit, _ms(window), secrets.token_hex(8)]

    async def batch(self, operations: Sequence[Operation]) -> list[Any]:
        """One pipeline (no MULTI). Scripts go by their digest so that the pipeline needs no extra
        SCRIPT EXISTS round trip; one Redis has forgotten (a restart) is loaded and run on its own."""
        pipe = self._redis.pipeline(transaction=False)
        for operation in operations:
            match operation:
                case Get(key):
                    pipe.get(self._k(key))
                case SetIfAbsent(key, value, ttl):
                    pipe.set(self._k(key), value, nx=True, px=None if ttl is None else _ms(ttl))
                case Exchange(key, value, ttl):
                    pipe.set(self._k(key), value, get=True, px=None if ttl is None else _ms(ttl))
                case Incr(key, ttl):
                    pipe.evalsha(self._incr.sha, 1, self._k(key), str(0 if ttl is None else _ms(ttl)))
                case HitWindow(key, limit, window):
                    pipe.evalsha(self._window.sha, 1, self._k(key), *self._window_args(limit, window))
        replies = await pipe.execute(raise_on_error=False)
        results: list[Any] = []
        for operation, reply in zip(operations, replies, strict=True):
            if isinstance(reply, NoScriptError) and isinstance(operation, HitWindow):
                results.append(await self.hit_window(operation.key, operation.limit, operation.window))
            elif isinstance(reply, NoScriptError) and isinstance(operation, Incr):
                results.append(await self.incr(operation.key, operation.ttl))
            elif isinstance(reply, Exception):
                raise reply
            elif isinstance(operation, SetIfAbsent):
                results.append(bool(reply))
            elif isinstance(operation, Incr):
                results.append(int(reply))
            elif isinstance(operation, HitWindow):
                results.append(_verdict(*reply))
            else:
                results.append(reply)
        return results

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()
