"""The job contract: ``async def job(ctx: dict, **kwargs)``; ``ctx["host"]`` is the HostContext.

A job is known by one name on both backends, ``<plugin>.<function name>`` (core.jobs.catalog): the
name the API enqueues, the name a saq worker registers, and the name cron schedules use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.context import HostContext
    from core.jobs.catalog import JobCatalog

JobFunction = Callable[..., Awaitable[Any]]

# How long one run of an enqueued job may take before it is cancelled, on either backend.
JOB_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class CronJob:
    """Run ``function`` on a cron schedule (UTC), on whichever backend is configured.

    Five fields as usual; a sixth field (seconds, croniter's convention) is accepted too.
    """

    function: JobFunction
    cron: str
    timeout: int = JOB_TIMEOUT_SECONDS


class JobQueue(Protocol):
    catalog: JobCatalog

    async def enqueue(self, job: str | JobFunction, **kwargs: Any) -> None:
        """Schedule the job (its function, full name or unambiguous bare name) with these keyword
        arguments."""

    async def run(self, job: str | JobFunction, timeout: float = JOB_TIMEOUT_SECONDS, **kwargs: Any) -> Any:
        """Enqueue the job and wait for its result (on saq, a worker must be running); its failure
        is raised here."""

    async def start(self) -> None:
        """Begin accepting work (in-process: start the runner and cron loop)."""

    async def stop(self) -> None:
        """Stop and release resources."""


def host_of(ctx: dict[str, Any]) -> HostContext:
    return ctx["host"]


def job_name(function: JobFunction) -> str:
    """A module-level function's name; a function made inside another one is known by its own name."""
    return function.__name__
