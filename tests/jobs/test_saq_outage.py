"""A saq worker whose Redis is unreachable waits between attempts instead of spinning, and says so in
one line rather than a traceback several times a second."""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import structlog
from redis.asyncio import Redis

from core.jobs.saq_backend import FIRST_BACKOFF, PatientRedisQueue, QuietOutages, warn_unreachable
from tests.support.faults import RedisServer


async def test_dequeue_backs_off_while_redis_is_down():
    """With Redis stopped, each dequeue answers no job after a growing pause (0.5 s, then 1 s ...),
    using next to no CPU; once Redis is back the pause is gone."""
    server = RedisServer()
    server.start()
    queue = PatientRedisQueue(Redis.from_url(server.url), name="tbackoff")
    try:
        await queue.connect()
        assert await queue.dequeue(timeout=0.1) is None  # up: an empty queue
        server.stop()
        started, cpu = time.monotonic(), time.process_time()
        assert await queue.dequeue(timeout=0.1) is None
        assert await queue.dequeue(timeout=0.1) is None
        waited, spent = time.monotonic() - started, time.process_time() - cpu
        assert waited >= FIRST_BACKOFF * 3 - 0.05  # 0.5 s + 1 s
        assert spent < 0.5 * waited
        server.start()
        started = time.monotonic()
        assert await queue.dequeue(timeout=0.1) is None
        assert time.monotonic() - started < 1.0
    finally:
        await queue.disconnect()
        server.close()


def test_upkeep_failures_during_an_outage_log_one_line_now_and_then():
    """The first failure of a kind logs one warning line without the traceback; repeats within the
    window are dropped; any other error keeps its traceback."""
    import redis.exceptions

    quiet = QuietOutages(every=60)

    def record(error: BaseException) -> logging.LogRecord:
        try:
            raise error
        except BaseException:
            failure = sys.exc_info()
            return logging.LogRecord("saq", logging.ERROR, __file__, 1, "Upkeep task failed", None, failure)

    first = record(redis.exceptions.ConnectionError("refused"))
    assert quiet.filter(first) and first.exc_info is None and first.levelno == logging.WARNING
    assert not quiet.filter(record(redis.exceptions.ConnectionError("refused")))
    other = record(ValueError("bug"))
    assert quiet.filter(other) and other.exc_info is not None


async def test_many_dequeue_slots_waiting_on_redis_log_one_line(monkeypatch):
    """A worker's dequeue slots all fail together while Redis is down: one warning for all of them per
    interval (it was one per slot every few seconds, ~180,000 lines a day at the default concurrency)."""
    server = RedisServer()
    server.start()
    queue = PatientRedisQueue(Redis.from_url(server.url), name="tquiet")
    try:
        await queue.connect()
        server.stop()
        warn_unreachable.reset()
        with structlog.testing.capture_logs() as logs:
            # A fresh proxy: the module's logger may already be bound (and cached) by an earlier test.
            monkeypatch.setattr(warn_unreachable, "logger", structlog.get_logger("difyd.jobs"))
            for _ in range(2):  # two rounds of ten slots
                await asyncio.gather(*(queue.dequeue(timeout=0.1) for _ in range(10)))
        lines = [line for line in logs if line["event"] == "job_queue_unreachable"]
        assert len(lines) == 1 and lines[0]["error_type"] == "ConnectionError"
    finally:
        server.start()  # saq's own disconnect says goodbye to Redis
        await queue.disconnect()
        server.close()
