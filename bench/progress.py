"""What a benchmark says while it runs, and how long its steps take.

The tables go to stdout (``run_all.py`` shows them one after the other); the running commentary goes to
stderr with a time stamp, so that a slow or stuck step shows when it started.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def section(title: str) -> Iterator[None]:
    log(f"--- {title}")
    yield


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()``'s value and the seconds it took."""
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


async def timed_async(work: Awaitable[T]) -> tuple[T, float]:
    """The awaited value and the seconds it took."""
    started = time.perf_counter()
    value = await work
    return value, time.perf_counter() - started
