"""Argon2id password hashing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
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
# (a login storm froze the API), so it runs on a thread of its own. One, and always the same: a storm
# of logins queues for it (about 40 verifications a second per process) instead of taking every core,
# and argon2's memory stays in that thread's allocator arena, so the process stays under its 150 MB
# budget (two threads measured 152 MB at peak in bench/login_storm_bench.py).
HASHING_THREADS = 1
# The hashing thread yields the CPU to the event loop: at nice +10 the kernel runs it on what the
# request-serving thread leaves, so a login storm slows logins before it slows anything else.
HASHING_NICENESS = 10


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):  # per-thread niceness is Linux's; elsewhere none
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_hashing = ThreadPoolExecutor(
    max_workers=HASHING_THREADS, thread_name_prefix="difyd-argon2", initializer=_lower_priority
)


# Verifications waiting or running in this process. Past the bound a sign-in answers 503 at once
# instead of queueing for seconds (a storm spread over many addresses gets past the per-IP limits).
MAX_WAITING_VERIFICATIONS = 32
_waiting = 0


class HashingBusy(Exception):
    """Too many sign-ins are waiting for the password thread; the caller answers 503."""


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """``verify_password`` on the hashing thread, so other requests keep being served meanwhile.

    Raises ``HashingBusy`` when ``MAX_WAITING_VERIFICATIONS`` are already waiting (about 0.8 s of work).
    """
    global _waiting
    if _waiting >= MAX_WAITING_VERIFICATIONS:
        raise HashingBusy
    _waiting += 1
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_hashing, verify_password, password_hash, password)
    finally:
        _waiting -= 1
