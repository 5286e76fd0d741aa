"""The contract every state backend keeps. Each method is atomic on its own.

Values are bytes. TTLs are seconds (floats allowed); ``None`` means no expiry. The contract test
suite (tests/state/test_contract.py) runs unchanged against every implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    """The answer of a sliding-window counter: admitted or not, and when to retry."""

    allowed: bool
    count: int
    retry_after: float  # seconds until a slot frees up; 0 when allowed


@dataclass(frozen=True, slots=True)
class Get:
    """Batch operation: ``get``; its result is the value or None."""

    key: str


@dataclass(frozen=True, slots=True)
class SetIfAbsent:
    """Batch operation: ``set_if_absent``; its result is True when this batch wrote the key."""

    key: str
    value: bytes
    ttl: float | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """Batch operation: ``exchange``; its result is the previous value or None."""

    key: str
    value: bytes
    ttl: float | None = None


@dataclass(frozen=True, slots=True)
class Incr:
    """Batch operation: ``incr``; its result is the new count (a fixed-window counter with ``ttl``)."""

    key: str
    ttl: float | None = None


@dataclass(frozen=True, slots=True)
class HitWindow:
    """Batch operation: ``hit_window``; its result is a ``WindowVerdict``."""

    key: str
    limit: int
    window: float


Operation = Get | SetIfAbsent | Exchange | Incr | HitWindow


@runtime_checkable
class StateStore(Protocol):
    async def get(self, key: str) -> bytes | None:
        """Return the value, or None when absent or expired."""

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        """Return several values in one round trip."""

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Write unconditionally."""

    async def set_if_absent(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Write only if the key does not exist; True when this call wrote it."""

    async def exchange(self, key: str, value: bytes, ttl: float | None = None) -> bytes | None:
        """Write and return the previous value, in one step."""

    async def compare_and_set(
        self,
        key: str,
        expected: bytes,
        value: bytes,
        *,
        ttl: float | None = None,
        min_ttl: float | None = None,
    ) -> bool:
        """Replace the value only if it currently equals ``expected``.

        ``ttl`` sets a new expiry; ``min_ttl`` keeps the remaining one but at least that long (a key
        without expiry stays without); neither keeps the remaining expiry.
        """

    async def compare_and_delete(self, key: str, expected: bytes) -> bool:
        """Delete only if the value equals ``expected`` (owner-checked release)."""

    async def consume(self, key: str) -> bytes | None:
        """Read and delete in one step: of N concurrent callers exactly one gets the value."""

    async def delete(self, *keys: str) -> int:
        """Delete keys; return how many existed."""

    async def ttl(self, key: str) -> float | None:
        """Remaining lifetime in seconds; None when the key is absent or has no expiry."""

    async def incr(self, key: str, ttl: float | None = None) -> int:
        """Increment a counter; the expiry is set when the counter is created."""

    async def hit_window(self, key: str, limit: int, window: float) -> WindowVerdict:
        """Sliding-window rate counter: record a hit unless ``limit`` hits already lie within ``window``."""

    async def batch(self, operations: Sequence[Operation]) -> list[Any]:
        """Run the operations in order in one round trip; results in the same order.

        Each operation is atomic on its own; the batch as a whole is not (another client's call may
        land between two of them). For hot paths that need several independent steps: a rate-limit
        hit, a marker and a read cost one round trip instead of three.
        """

    async def ping(self) -> bool:
        """True when the backend answers."""

    async def close(self) -> None:
        """Release connections."""
