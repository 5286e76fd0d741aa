"""Argon2id password hashing."""

from __future__ import annotations

import asyncio
import os
import weakref
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id profile (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's 64 MiB default: a
# login must not add 64 MiB to an API process whose whole budget is 150 MB. Hashes carry their own
# parameters, so hashes made with other settings still verify.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both answers cost the same time.

    Computed on first use, not at import: it would cost every process start a hash.
    """
    return _hasher.hash("difyd-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# A verification takes ~20 ms of CPU and 19 MiB: on the event loop it would stall every other request
# (a login storm froze the API), so it runs in a worker thread; at most a few at once, which keeps a
# storm of logins from taking more than their share of CPU and memory (each waits its turn instead).
CONCURRENT_HASHES = min(4, os.cpu_count() or 1)
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """``verify_password`` in a worker thread, so other requests keep being served meanwhile."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(CONCURRENT_HASHES)
    async with gate:
        return await asyncio.to_thread(verify_password, password_hash, password)
