"""Issue #2: the framework's ceiling, the bearer pipeline's cost, cold start and RSS of one API process.

Run: ``.venv/bin/python bench/core_bench.py`` (BENCH_DURATION=20 for longer wrk runs).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from typing import Any

from config_files import LIMITER_HIGH, LIMITER_OFF, builtin_plugins, plugin_has_routes
from device_flow import mint_token
from harness import Stack
from measurement import Measurement, ceiling_of, measure, measure_ceiling, probe_sql, warm
from progress import log, section
from report import Figure, check_max, check_ratio, info, publish
from seed import seed_owner, with_context
from wrk import bearer_script, lua_script

NAME = "core"
COLD_STARTS = 3


def main() -> int:
    figures: list[Figure] = []
    runs: dict[str, Any] = {}
    notes = [
        f"bearer.rate_limit_per_token = {LIMITER_OFF} (limiter off) for the throughput runs; "
        f"the limiter's cost is measured once with rate_limit_per_token = {LIMITER_HIGH:,}",
        "GET /hello/me (example plugin) does nothing but bearer_guard: it isolates the bearer pipeline",
    ]
    plugins = builtin_plugins()
    can_mint = plugin_has_routes("oauth_device")
    with Stack(NAME) as stack:
        all_plugins = stack.config({"plugins": {"enabled": plugins}}, "cold")
        bench = stack.config({"plugins": {"enabled": [*plugins, "hello"]}}, "bench")
        limited = stack.config(
            {"plugins": {"enabled": [*plugins, "hello"]}, "bearer": {"rate_limit_per_token": LIMITER_HIGH}},
            "limiter",
        )
        stack.migrate(bench)
        seeded = asyncio.run(with_context(stack.settings(bench), seed_owner))

        with section(f"cold start x{COLD_STARTS} with every built-in plugin ({', '.join(plugins)})"):
            cold: list[float] = []
            for _ in range(COLD_STARTS):
                server = stack.server(all_plugins, 5171)
                cold.append(server.startup_seconds)
                server.stop()
            log("cold starts: " + ", ".join(f"{s:.2f} s" for s in cold))
        runs["cold_start_s"] = cold
        figures.append(
            check_max(
                "cold start to first 200 /healthz (median of 3)",
                statistics.median(cold),
                2.0,
                "s",
                inclusive=False,
            )
        )

        server = stack.server(bench, 5172)
        idle_rss_kb = server.proc_status("VmRSS")
        token = None
        if can_mint:
            token = asyncio.run(mint_token(server.base, seeded.email))
        else:
            notes.append("oauth_device has no routes yet: no token can be minted, pipeline figures skipped")

        with section("limiter off"):
            first = measure_ceiling(stack, server)
            # The same plugin's unguarded route: what a handler taking a Request costs without the pipeline.
            unguarded = measure(
                stack, server, "GET /hello (no auth, Request handler)", "/hello", lua_script()
            )
            pipeline: Measurement | None = None
            probe = 0.0
            if token:
                probe = probe_sql(server, "/hello/me", token)
                pipeline = measure(
                    stack, server, "GET /hello/me (bearer, cache-hot)", "/hello/me", bearer_script(token)
                )
            second = measure_ceiling(stack, server)
        ceiling = ceiling_of(first, second)
        peak_kb, rss_kb = server.proc_status("VmHWM"), server.proc_status("VmRSS")
        server.stop()

        limited_run: Measurement | None = None
        limited_ceiling = 0.0
        if token:
            with section("limiter on (high limit)"):
                server = stack.server(limited, 5173)
                warm(server.base + "/hello/me", token)
                limited_first = measure_ceiling(stack, server)
                limited_run = measure(
                    stack, server, "GET /hello/me (bearer, limiter on)", "/hello/me", bearer_script(token)
                )
                limited_ceiling = ceiling_of(limited_first)
                runs["limiter_on"] = {"ceiling": limited_first.as_dict(), "hello_me": limited_run.as_dict()}
                server.stop()

    runs.update(
        {
            "ceiling": [first.as_dict(), second.as_dict()],
            "hello_unguarded": unguarded.as_dict(),
            "hello_me": pipeline and pipeline.as_dict(),
            "rss_kib": {"idle": idle_rss_kb, "after_load": rss_kb, "peak": peak_kb},
        }
    )
    ceiling_note = f"runs {first.rps:,.0f} / {second.rps:,.0f}; p99 {first.wrk.p99_ms:.1f} ms"
    pipeline_note = ""
    if pipeline:
        pipeline_note = (
            f"p50 {pipeline.wrk.p50_ms:.2f} ms, p99 {pipeline.wrk.p99_ms:.2f} ms; "
            f"{pipeline.rps / unguarded.rps:.2f} of the unguarded route"
        )
    figures[:0] = [
        info("ceiling GET /healthz (no auth)", ceiling, "req/s", ceiling_note),
        info("GET /hello (unguarded, same plugin)", unguarded.rps, "req/s", ceiling=ceiling),
        check_ratio("bearer pipeline GET /hello/me", pipeline, ceiling, 0.7, pipeline_note),
        check_max(
            "SQL statements per request (cache-hot token)",
            probe if pipeline else None,
            0.0,
            "",
            f"200 sequential requests; under load {pipeline.sql_statements:.0f} statements in "
            f"{pipeline.wrk.requests:,} requests (the once-a-minute auth cache refresh)"
            if pipeline
            else "",
        ),
        info(
            "Redis round trips per request (limiter off)",
            pipeline.redis_round_trips_per_request if pipeline else None,
        ),
    ]
    if limited_run is not None:
        figures.append(
            check_ratio(
                "bearer pipeline, limiter on (high limit)",
                limited_run,
                limited_ceiling,
                0.7,
                f"{limited_run.redis_round_trips_per_request:.2f} Redis round trips/req",
            )
        )
    figures += [
        check_max(
            "peak RSS of the API process after the load (VmHWM)", peak_kb / 1024, 150, "MB", inclusive=False
        ),
        info(
            "RSS idle after start / after the load (VmRSS)",
            rss_kb / 1024,
            "MB",
            f"idle {idle_rss_kb / 1024:.0f} MB",
        ),
    ]
    return publish(NAME, "issue #2: core (bench/core_bench.py)", figures, runs, notes)


if __name__ == "__main__":
    sys.exit(main())
