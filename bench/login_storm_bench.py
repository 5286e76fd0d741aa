"""Issue #7: a login storm must not stall other requests (password hashing runs off the event loop).

Run: ``.venv/bin/python bench/login_storm_bench.py`` (BENCH_DURATION=20 for longer wrk runs).

One API process on PostgreSQL + Redis. The bearer route ``GET /hello/me`` (cache-hot token) is loaded
with wrk twice: alone, then while 32 clients sign in on the console over and over (each sign-in one
argon2id verification, ~20 ms of CPU). The figure is its p99 during the storm beside its p99 without
it, in the same run; the target is within 2x. Before this issue each verification ran on the event
loop and every request waited behind it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any

import httpx
from config_files import LIMITER_OFF, builtin_plugins
from device_flow import mint_token
from harness import Stack
from knobs import PASSWORD
from measurement import measure, warm
from progress import log, section
from report import Figure, check_max, info, publish
from seed import seed_owner, with_context
from wrk import bearer_script

NAME = "login_storm"
CONCURRENT_LOGINS = 32


class Storm:
    """CONCURRENT_LOGINS clients signing in back to back, in a thread of their own, until stopped."""

    def __init__(self, base: str, email: str) -> None:
        self.base, self.email = base, email
        self.stop = threading.Event()
        self.logins = 0
        self.failures = 0
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Storm:
        self.started = time.monotonic()
        self.thread.start()
        time.sleep(1.0)  # let the storm reach full strength before measuring
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join(30)
        self.seconds = time.monotonic() - self.started

    async def _run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as client:
            await asyncio.gather(*(self._one(client) for _ in range(CONCURRENT_LOGINS)))

    async def _one(self, client: httpx.AsyncClient) -> None:
        body = {"email": self.email, "password": PASSWORD}
        while not self.stop.is_set():
            response = await client.post("/console/api/login", json=body)
            if response.status_code == 200:
                self.logins += 1
            else:
                self.failures += 1


def main() -> int:
    plugins = [*builtin_plugins(), "hello"]
    notes = [
        f"{CONCURRENT_LOGINS} concurrent clients sign in with the right password, back to back",
        "the login limits are raised for the run (each sign-in must reach the password check)",
        f"bearer.rate_limit_per_token = {LIMITER_OFF}: GET /hello/me measures the pipeline alone",
    ]
    with Stack(NAME) as stack:
        config = stack.config(
            {
                "plugins": {"enabled": plugins},
                "bearer": {"rate_limit_per_token": LIMITER_OFF},
                "console": {"login_limit_per_ip": 10_000_000, "login_limit_per_account": 10_000_000},
            },
            "storm",
        )
        stack.migrate(config)
        seeded = asyncio.run(with_context(stack.settings(config), seed_owner))
        server = stack.server(config, 5176)
        token = asyncio.run(mint_token(server.base, seeded.email))
        warm(server.base + "/hello/me", token)
        with section("bearer route alone"):
            calm = measure(stack, server, "GET /hello/me, no logins", "/hello/me", bearer_script(token))
        with (
            section(f"bearer route during {CONCURRENT_LOGINS} concurrent logins"),
            Storm(server.base, seeded.email) as storm,
        ):
            stormy = measure(stack, server, "GET /hello/me, login storm", "/hello/me", bearer_script(token))
        peak_kb = server.proc_status("VmHWM")
        server.stop()
    rate = storm.logins / storm.seconds
    log(f"logins during the storm: {storm.logins} ({rate:.0f}/s), refused {storm.failures}")
    ratio = stormy.wrk.p99_ms / calm.wrk.p99_ms if calm.wrk.p99_ms else None
    figures: list[Figure] = [
        info("p99 GET /hello/me without logins", calm.wrk.p99_ms, "ms", f"{calm.rps:,.0f} req/s"),
        info(
            f"p99 GET /hello/me during {CONCURRENT_LOGINS} concurrent logins",
            stormy.wrk.p99_ms,
            "ms",
            f"{stormy.rps:,.0f} req/s; {rate:.0f} logins/s, {storm.failures} refused",
        ),
        check_max("p99 during the storm / p99 without", ratio, 2.0, "x"),
        check_max("peak RSS of the API process (VmHWM)", peak_kb / 1024, 150, "MB", inclusive=False),
    ]
    runs = {"calm": calm.as_dict(), "storm": stormy.as_dict()}
    return publish(NAME, "issue #7: login storm (bench/login_storm_bench.py)", figures, runs, notes)


if __name__ == "__main__":
    sys.exit(main())
