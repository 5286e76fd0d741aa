"""Issue #3: the device-flow poll storm and full login round trips, on PostgreSQL + Redis.

Run: ``.venv/bin/python bench/device_bench.py``. Knobs: BENCH_STORM_DURATION (paced storm, default 20 s;
the issue's figure is 60 s), BENCH_STORM_CODES (1000), BENCH_LOGIN_DURATION (default 10 s per login run),
BENCH_DURATION (wrk runs).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from clients import (
    ConsoleIdentity,
    IdentityPool,
    LoadResult,
    device_logins,
    issue_device_codes,
    paced_poll_storm,
)
from config_files import plugin_has_routes
from counters import Traffic
from device_flow import poll_body
from harness import Stack
from knobs import DURATION
from measurement import ceiling_of, measure, measure_ceiling
from profiler import profiling
from progress import log, section
from report import Figure, check_max, check_ratio, info, publish
from seed import console_session, seed_account_pool, seed_owner, with_context
from wrk import lua_script, rotating_body_lua

NAME = "device"
TITLE = "issue #3: device flow (bench/device_bench.py)"
STORM_DURATION = float(os.environ.get("BENCH_STORM_DURATION", "20"))
STORM_CODES = int(os.environ.get("BENCH_STORM_CODES", "1000"))
LOGIN_DURATION = float(os.environ.get("BENCH_LOGIN_DURATION", "10"))
LOGIN_CONCURRENCY = 32
POLL_INTERVAL = 5.0
# Approvals are limited to 10 per account per hour (plugins/oauth_device/abuse.py): logins rotate accounts.
APPROVALS_PER_ACCOUNT = 9
POOL_ACCOUNTS = int(os.environ.get("BENCH_POOL_ACCOUNTS", "400"))


def main() -> int:
    figures: list[Figure] = []
    runs: dict[str, Any] = {}
    notes = [
        "the server trusts 127.0.0.1 as its load balancer (server.trusted_proxies) and the bench forwards "
        "a distinct client address (198.18.0.0/15) per device flow: the per-IP limit of 60 device codes "
        "an hour stays in force but does not throttle a thousand simulated clients",
        f"logins rotate over {POOL_ACCOUNTS} accounts (approvals are limited to 10 per account per hour); "
        "their console sessions are issued like POST /console/api/login issues them (same signed cookies)",
        "poll/login load comes from a Python (httpx) client on the same 2 CPUs: its CPU time is reported",
    ]
    if not plugin_has_routes("oauth_device"):
        notes.append("oauth_device has no routes yet: nothing to measure")
        return publish(NAME, TITLE, figures, runs, notes)
    with Stack(NAME) as stack:
        config = stack.config({"server": {"trusted_proxies": ["127.0.0.1/32"]}}, "device")
        stack.migrate(config)
        settings = stack.settings(config)

        async def seed(ctx: Any) -> list[ConsoleIdentity]:
            owner = await seed_owner(ctx)
            workspace_id = next(iter(owner.workspaces.values()))
            ids = await seed_account_pool(ctx, workspace_id, POOL_ACCOUNTS)
            return [ConsoleIdentity(*console_session(settings, account_id)) for account_id in ids]

        with section(f"seeding {POOL_ACCOUNTS} accounts"):
            identities = asyncio.run(with_context(settings, seed))
        server = stack.server(config, 5174)

        with section(f"{STORM_CODES} pending device codes"):
            codes = asyncio.run(issue_device_codes(server.base, STORM_CODES))
        first = measure_ceiling(stack, server)

        with section(
            f"paced poll storm: {len(codes)} codes every {POLL_INTERVAL:g} s for {STORM_DURATION:g} s"
        ):
            with stack.traffic(server) as paced_counters:
                paced = asyncio.run(paced_poll_storm(server.base, codes, POLL_INTERVAL, STORM_DURATION))
            per_poll = paced_counters.round_trips / max(paced.count, 1)
            log(
                f"paced: {paced.per_second:,.0f} polls/s, p50 {paced.p50_ms:.2f} ms, "
                f"p99 {paced.p99_ms:.2f} ms, answers {dict(paced.answers)}, "
                f"Redis round trips/poll {per_poll:.2f}; CPU us/poll {paced_counters.cpu_per(paced.count)}"
            )

        with section("unpaced poll storm (wrk, rotating over the codes)"):
            bodies = [poll_body(code) for code in codes]
            unpaced = measure(
                stack,
                server,
                "POST /oauth/device/token (unpaced)",
                "/openapi/v1/oauth/device/token",
                lua_script(extra=rotating_body_lua(bodies, "/openapi/v1/oauth/device/token", xff=True)),
            )
            log(f"unpaced answers: {unpaced.wrk.answers}")
        second = measure_ceiling(stack, server)
        ceiling = ceiling_of(first, second)

        pool = IdentityPool(identities, APPROVALS_PER_ACCOUNT)
        logins: dict[str, tuple[LoadResult, Traffic]] = {}
        for label, concurrency in (("sequential", 1), (f"{LOGIN_CONCURRENCY} concurrent", LOGIN_CONCURRENCY)):
            with (
                section(f"device logins, {label}, {LOGIN_DURATION:g} s"),
                stack.traffic(server) as counters,
                profiling(server, f"logins {label}", LOGIN_DURATION),
            ):
                result = asyncio.run(device_logins(server.base, pool, concurrency, LOGIN_DURATION))
            logins[label] = (result, counters)
            log(
                f"logins {label}: {result.per_second:,.1f}/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms, "
                f"answers {dict(result.answers)}, SQL/login {counters.sql / max(result.count, 1):.1f}, "
                f"Redis round trips/login {counters.round_trips / max(result.count, 1):.1f}, "
                f"CPU us/login {counters.cpu_per(result.count)}"
            )
        peak_rss_mb = server.proc_status("VmHWM") / 1024
        server.stop()

    pending_share = paced.answers.get("authorization_pending", 0) / max(paced.count, 1)
    figures += [
        info(
            "ceiling GET /healthz (no auth)", ceiling, "req/s", f"runs {first.rps:,.0f} / {second.rps:,.0f}"
        ),
        info(
            "paced storm: polls/s (offered: codes / interval)",
            paced.per_second,
            "polls/s",
            f"{len(codes) / POLL_INTERVAL:,.0f} offered; {pending_share:.0%} authorization_pending",
        ),
        info("paced storm: p99 latency", paced.p99_ms, "ms", f"p50 {paced.p50_ms:.2f} ms"),
        check_max(
            "paced storm: Redis round trips per poll",
            paced_counters.round_trips / max(paced.count, 1),
            2.0,
            "",
            f"{paced_counters.commands / max(paced.count, 1):.2f} Redis commands/poll (Lua-internal "
            f"included), SQL/poll {paced_counters.sql / max(paced.count, 1):.3f}",
        ),
        check_ratio(
            "unpaced storm: polls/s (capacity)",
            unpaced,
            ceiling,
            0.5,
            f"p99 {unpaced.wrk.p99_ms:.1f} ms; answers "
            + ", ".join(
                f"{k} {v / max(unpaced.wrk.requests, 1):.1%}" for k, v in sorted(unpaced.wrk.answers.items())
            ),
        ),
        check_max(
            "unpaced storm: Redis round trips per poll", unpaced.redis_round_trips_per_request, 2.0, ""
        ),
    ]
    for label, (result, counters) in logins.items():
        figures.append(
            info(
                f"logins/s, {label}",
                result.per_second,
                "logins/s",
                f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
                f"{counters.sql / max(result.count, 1):.1f} SQL and "
                f"{counters.round_trips / max(result.count, 1):.1f} Redis round trips per login"
                + ("" if set(result.answers) == {"token"} else f"; answers {dict(result.answers)}"),
            )
        )
    figures.append(
        check_max(
            "peak RSS of the API process after the load (VmHWM)", peak_rss_mb, 150, "MB", inclusive=False
        )
    )
    runs.update(
        {
            "ceiling": [first.as_dict(), second.as_dict()],
            "paced_storm": {
                **paced.as_dict(),
                "sql": paced_counters.sql,
                "redis_commands": paced_counters.commands,
                "redis_round_trips": paced_counters.round_trips,
                "cpu_seconds": paced_counters.cpu,
                "duration_s": STORM_DURATION,
            },
            "unpaced_storm": unpaced.as_dict(),
            "logins": {
                label: {**r.as_dict(), "sql": c.sql, "redis_round_trips": c.round_trips, "cpu_seconds": c.cpu}
                for label, (r, c) in logins.items()
            },
            "wrk_duration_s": DURATION,
        }
    )
    return publish(NAME, TITLE, figures, runs, notes)


if __name__ == "__main__":
    sys.exit(main())
