"""saq on Redis: the API enqueues; ``difyd workers run`` processes jobs and cron schedules."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

import redis.exceptions
import structlog
from redis.asyncio import Redis
from saq import CronJob as SaqCronJob
from saq import Job, Worker
from saq.queue.redis import RedisQueue

from core.jobs.catalog import JobCatalog
from core.jobs.queue import JOB_TIMEOUT_SECONDS, JobFunction
from core.logging import ThrottledWarning

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# Seconds a worker waits before asking an unreachable Redis for a job again, growing to the maximum.
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 5.0
# Seconds the queue's goodbye to Redis may take at shutdown. The queue's connections have no socket
# timeout (its dequeue and its pubsub block on purpose), so a frozen Redis would hold a stopping
# process forever; past this, the sockets are dropped without a goodbye.
DISCONNECT_SECONDS = 2.0

log = structlog.get_logger("difyd.jobs")
# One line per interval for all of a worker's dequeue slots together (not one per slot per retry).
warn_unreachable = ThrottledWarning(log, "job_queue_unreachable", interval=30.0)


class PatientRedisQueue(RedisQueue):
    """saq's Redis queue, but a worker whose Redis is unreachable waits before asking again: saq
    retries a failed dequeue at once, which spun a core at 100% for as long as Redis was down."""

    _backoff = 0.0

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Job | None:
        try:
            job = await super().dequeue(timeout=timeout, poll_interval=poll_interval)
        except REDIS_DOWN as exc:
            self._backoff = min(max(self._backoff * 2, FIRST_BACKOFF), MAX_BACKOFF)
            warn_unreachable(error_type=type(exc).__name__, retry_in_seconds=self._backoff)
            await asyncio.sleep(self._backoff)
            return None
        self._backoff = 0.0
        return job


class QuietOutages(logging.Filter):
    """saq logs a full traceback for each failed upkeep round (several a second while Redis is
    down): keep one line per message every ``every`` seconds, without the traceback, for a Redis
    outage. Every other error keeps its traceback."""

    def __init__(self, every: float = 10.0) -> None:
        super().__init__()
        self.every = every
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, REDIS_DOWN):
            return True
        now = time.monotonic()
        if now - self._last.get(record.msg, -self.every) < self.every:
            return False
        self._last[record.msg] = now
        record.msg = f"{record.getMessage()}: {type(error).__name__} (Redis unreachable)"
        record.args, record.exc_info, record.exc_text = None, None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class SaqJobQueue:
    def __init__(self, redis_url: str, name: str, catalog: JobCatalog) -> None:
        self.queue = PatientRedisQueue(Redis.from_url(redis_url), name=name)
        self.catalog = catalog

    async def enqueue(self, job: str | JobFunction, **kwargs: Any) -> None:
        # A Job built here keeps every keyword for the function: saq's enqueue(name, **kwargs) would
        # take ``key``, ``timeout``, ``retries``... as job options instead.
        name = self.catalog.resolve(job)
        await self.queue.enqueue(Job(function=name, kwargs=kwargs, timeout=JOB_TIMEOUT_SECONDS))

    async def run(self, job: str | JobFunction, timeout: float = JOB_TIMEOUT_SECONDS, **kwargs: Any) -> Any:
        saq_job = Job(function=self.catalog.resolve(job), kwargs=kwargs, timeout=int(timeout))
        [result] = await self.queue.map(saq_job, [{}], timeout=timeout, poll_interval=0.05)
        return result

    async def start(self) -> None:
        await self.queue.connect()

    async def stop(self) -> None:
        """Say goodbye to Redis within DISCONNECT_SECONDS, else drop the connections unannounced: a
        stopping process must stop whatever state Redis is in (down, frozen, restarting)."""
        try:
            await asyncio.wait_for(self.queue.disconnect(), DISCONNECT_SECONDS)
        except (TimeoutError, *REDIS_DOWN) as exc:
            log.warning("job_queue_disconnect_failed", error_type=type(exc).__name__)
            self.queue.redis.connection_pool.reset()  # forget the sockets; the process is leaving


def _named_for_saq(name: str, function: JobFunction) -> JobFunction:
    """saq registers and schedules a cron under the function's ``__qualname__``; give it the job's name."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        return await function(ctx, **kwargs)

    run.__qualname__ = name
    return run


class KnownJobs(dict[str, Any]):
    """The worker's functions by name. A job it does not know (enqueued or scheduled for a plugin since
    disabled, or by an older release under another name) is skipped with one log line, where saq
    would fail it with a KeyError traceback on every run."""

    def __init__(self, functions: dict[str, Any], catalog: JobCatalog) -> None:
        super().__init__(functions)
        self.catalog = catalog

    def __missing__(self, name: str) -> Any:
        try:
            return self[self.catalog.resolve(name)]  # a bare name an older release enqueued
        except LookupError:
            pass

        async def skip(ctx: dict[str, Any], **kwargs: Any) -> None:
            log.warning("job_skipped_unknown", job=name, reason="no enabled plugin has this job")

        return skip


def quiet_saq_outages() -> None:
    saq_logger = logging.getLogger("saq")
    if not any(isinstance(f, QuietOutages) for f in saq_logger.filters):
        saq_logger.addFilter(QuietOutages())


def build_worker(
    queue: SaqJobQueue,
    catalog: JobCatalog,
    context: dict[str, Any],
    concurrency: int,
) -> Worker:
    crons = [
        SaqCronJob(
            _named_for_saq(named.name, named.cron.function), cron=named.cron.cron, timeout=named.cron.timeout
        )
        for named in catalog.crons
    ]

    async def startup(ctx: dict[str, Any]) -> None:
        ctx.update(context)

    quiet_saq_outages()

    worker = Worker(
        queue.queue,
        # saq adds each cron's function under its (now the job's) qualname; the tuples name the rest.
        functions=list(catalog.functions.items()),
        cron_jobs=crons,
        concurrency=concurrency,
        startup=startup,
    )
    worker.functions = KnownJobs(worker.functions, catalog)
    return worker
