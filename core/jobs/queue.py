"""The job contract: ``async def job(ctx: dict, **kwargs)``; ``ctx["host"]`` is the HostContext.

A job is known by one name on both backends, ``job_name(function)``: the name the API enqueues, the
name a saq worker registers, and the name cron schedules use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from croniter import croniter

if TYPE_CHECKING:
    from core.context import HostContext

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
    async def enqueue(self, name: str, **kwargs: Any) -> None:
        """Schedule the job function called ``name`` with these keyword arguments."""

    async def run(self, name: str, timeout: float = JOB_TIMEOUT_SECONDS, **kwargs: Any) -> Any:
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


def job_registry(functions: Iterable[JobFunction], cron_jobs: Iterable[CronJob]) -> dict[str, JobFunction]:
    """Every job by name; two different functions under one name would run the wrong code, so refuse.

    Cron schedules are checked here too, so that a bad one stops startup on either backend.
    """
    cron_jobs = list(cron_jobs)
    for cron in cron_jobs:
        _check_cron(cron)
    registry: dict[str, JobFunction] = {}
    for function in [*functions, *(cron.function for cron in cron_jobs)]:
        name = job_name(function)
        known = registry.setdefault(name, function)
        if known is not function:
            raise ValueError(
                f"two job functions are named {name!r} ({known.__module__} and {function.__module__}); "
                "rename one"
            )
    return registry


def _check_cron(cron: CronJob) -> None:
    if not croniter.is_valid(cron.cron):
        raise ValueError(f"cron schedule {cron.cron!r} of job {job_name(cron.function)!r} is not valid")
