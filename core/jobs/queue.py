"""The job contract: ``async def job(ctx: dict, **kwargs)``; ``ctx["host"]`` is the HostContext."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.context import HostContext

JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class CronJob:
    """Run ``function`` on a five-field cron schedule (UTC), on whichever backend is configured."""

    function: JobFunction
    cron: str
    timeout: int = 300


class JobQueue(Protocol):
    async def enqueue(self, name: str, **kwargs: Any) -> None:
        """Schedule the job function called ``name`` with these keyword arguments."""

    async def start(self) -> None:
        """Begin accepting work (in-process: start the runner and cron loop)."""

    async def stop(self) -> None:
        """Stop and release resources."""


def host_of(ctx: dict[str, Any]) -> HostContext:
    return ctx["host"]


def job_name(function: JobFunction) -> str:
    return function.__qualname__ if "." not in function.__qualname__ else function.__name__
