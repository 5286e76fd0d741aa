"""Issue #4: the /openapi/v1 read surface under load: apps list at 100 / 10k / 100k apps, describe,
sessions list, device code issuance (and the per-IP limit against a client-set X-Forwarded-For).

Run: ``.venv/bin/python bench/apps_bench.py``. Knobs: BENCH_APP_SIZES (default "100,10000,100000"),
BENCH_DURATION (seconds per wrk run).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

from config_files import plugin_has_routes
from device_flow import mint_tokens
from harness import Stack
from knobs import DURATION
from measurement import Measurement, ceiling_of, measure, measure_ceiling, probe_sql
from progress import log, section, timed, timed_async
from report import Figure, check_max, check_ratio, info, publish
from seed import add_workspace, seed_apps, seed_owner, with_context
from wrk import bearer_script, lua_script, xff_lua

NAME = "apps"
TITLE = "issue #4: openapi read surface (bench/apps_bench.py)"
SIZES = [int(size) for size in os.environ.get("BENCH_APP_SIZES", "100,10000,100000").split(",")]
SESSIONS = 5  # device sessions of the benchmark account (the sessions list returns them)
DEVICE_CODE_LIMIT_PER_IP = 60  # plugins/oauth_device/abuse.py: 60 an hour per client address


def size_label(size: int) -> str:
    return f"{size // 1000}k" if size >= 1000 else str(size)


def xff_bypass_check(base: str, attempts: int) -> dict[str, Any]:
    """POST device/code from one peer with a different client-set X-Forwarded-For each time."""
    statuses: list[int] = []
    for n in range(attempts):
        body = json.dumps({"client_id": "difyctl", "device_label": f"spoof {n}"}).encode()
        request = urllib.request.Request(
            base + "/openapi/v1/oauth/device/code",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{n % 250 + 1}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    accepted = statuses.count(200)
    return {
        "attempts": attempts,
        "accepted": accepted,
        "refused_429": statuses.count(429),
        "first_429_at": statuses.index(429) + 1 if 429 in statuses else None,
    }


def main() -> int:
    figures: list[Figure] = []
    runs: dict[str, Any] = {}
    notes = [
        "bearer.rate_limit_per_token = 0 (limiter off): one token carries the whole load",
        "device code issuance: the server trusts 127.0.0.1 as its load balancer and wrk forwards a distinct "
        "client address (198.18.0.0/15) per request, so the 60/h per-IP limit stays on without throttling; "
        "the spoofing check runs on a second server that trusts only 10.0.0.0/8 (the production example)",
    ]
    apps_ready = plugin_has_routes("openapi_apps")
    if not plugin_has_routes("oauth_device"):
        notes.append("oauth_device has no routes yet: no token, nothing to measure")
        return publish(NAME, TITLE, figures, runs, notes)
    with Stack(NAME) as stack:
        config = stack.config({"server": {"trusted_proxies": ["127.0.0.1/32"]}}, "apps")
        # Its own key prefix: the limit buckets start empty (the main server's logins used 127.0.0.1's).
        spoof_config = stack.config(
            {
                "server": {"trusted_proxies": ["10.0.0.0/8"]},
                "state": {"key_prefix": stack.key_prefix + "spoof:"},
            },
            "spoof",
        )
        stack.migrate(config)

        async def seed(ctx: Any) -> tuple[Any, dict[int, str], str]:
            owner = await seed_owner(ctx)
            workspaces: dict[int, str] = {}
            describe_app = ""
            for size in SIZES:
                workspace_id = await add_workspace(ctx, owner, size_label(size))
                (greeter, seconds) = await timed_async(seed_apps(ctx, owner, workspace_id, size))
                log(f"seeded {size:,} apps in {seconds:.1f} s")
                workspaces[size] = str(workspace_id)
                describe_app = describe_app or str(greeter)
            return owner, workspaces, describe_app

        with section(f"seeding {', '.join(f'{s:,}' for s in SIZES)} apps"):
            (owner, workspaces, describe_app), seed_seconds = timed(
                lambda: asyncio.run(with_context(stack.settings(config), seed))
            )
        runs["seed_seconds"] = round(seed_seconds, 1)
        stack.vacuum_analyze()

        server = stack.server(config, 5175)
        labels = [f"bench session {n}" for n in range(SESSIONS)]
        tokens = asyncio.run(mint_tokens(server.base, owner.email, labels))
        token = tokens[0]
        script = bearer_script(token)

        first = measure_ceiling(stack, server)
        lists: dict[int, Measurement] = {}
        probes: dict[str, float] = {}
        describe: Measurement | None = None
        if apps_ready:
            for size in SIZES:
                path = f"/openapi/v1/apps?workspace_id={workspaces[size]}&limit=20"
                probes[f"list {size}"] = probe_sql(server, path, token)
                lists[size] = measure(stack, server, f"GET /apps ({size_label(size)} apps)", path, script)
            path = f"/openapi/v1/apps/{describe_app}/describe?fields=info,parameters,input_schema"
            probes["describe"] = probe_sql(server, path, token)
            describe = measure(stack, server, "GET /apps/{id}/describe (3 fields)", path, script)
        else:
            notes.append("openapi_apps has no routes yet: apps list and describe skipped")
        path = "/openapi/v1/account/sessions"
        probes["sessions"] = probe_sql(server, path, token)
        sessions = measure(stack, server, "GET /account/sessions", path, script)
        issuance = measure(
            stack,
            server,
            "POST /oauth/device/code",
            "/openapi/v1/oauth/device/code",
            lua_script(extra=xff_lua() + _code_request_lua()),
        )
        second = measure_ceiling(stack, server)
        ceiling = ceiling_of(first, second)
        peak_rss_mb = server.proc_status("VmHWM") / 1024
        server.stop()

        with section("X-Forwarded-For spoofing against the per-IP device code limit"):
            spoof_server = stack.server(spoof_config, 5176)
            spoof = xff_bypass_check(spoof_server.base, DEVICE_CODE_LIMIT_PER_IP + 10)
            spoof_server.stop()
            log(f"spoofing: {spoof}")

    figures.append(
        info("ceiling GET /healthz (no auth)", ceiling, "req/s", f"runs {first.rps:,.0f} / {second.rps:,.0f}")
    )
    for size, m in lists.items():
        figures.append(
            check_ratio(
                f"apps list, {size:,} apps",
                m,
                ceiling,
                0.35,
                f"p50 {m.wrk.p50_ms:.1f} ms, p99 {m.wrk.p99_ms:.1f} ms",
            )
        )
        figures.append(
            check_max(
                f"  SQL statements per request, {size:,} apps",
                probes[f"list {size}"],
                2.0,
                "",
                f"200 sequential requests; under load {m.sql_per_request:.3f} (auth cache refresh included)",
            )
        )
    if lists:
        smallest, largest = lists[min(lists)], lists[max(lists)]
        growth = largest.wrk.p99_ms / smallest.wrk.p99_ms if smallest.wrk.p99_ms else None
        figures.append(
            check_max(
                f"apps list p99 growth {size_label(min(lists))} -> {size_label(max(lists))} apps",
                growth,
                2.0,
                "x",
                f"{smallest.wrk.p99_ms:.1f} -> {largest.wrk.p99_ms:.1f} ms",
                inclusive=False,
            )
        )
    figures.append(
        check_ratio(
            "describe (info, parameters, input_schema)",
            describe,
            ceiling,
            0.3,
            f"{probes['describe']:.2f} SQL/req, p99 {describe.wrk.p99_ms:.1f} ms" if describe else "",
        )
    )
    figures.append(
        check_ratio(
            f"sessions list ({SESSIONS} sessions)",
            sessions,
            ceiling,
            0.4,
            f"{probes['sessions']:.2f} SQL/req, p99 {sessions.wrk.p99_ms:.1f} ms",
        )
    )
    figures.append(
        check_ratio(
            "device code issuance",
            issuance,
            ceiling,
            0.3,
            f"{issuance.redis_round_trips_per_request:.2f} Redis round trips/req, "
            f"p99 {issuance.wrk.p99_ms:.1f} ms, answers {issuance.wrk.answers}",
        )
    )
    spoof_ok = (
        spoof["accepted"] == DEVICE_CODE_LIMIT_PER_IP
        and spoof["first_429_at"] == DEVICE_CODE_LIMIT_PER_IP + 1
    )
    figures.append(
        Figure(
            "per-IP limit with spoofed X-Forwarded-For",
            spoof["accepted"],
            "accepted",
            None,
            f"{DEVICE_CODE_LIMIT_PER_IP} accepted, then 429",
            spoof_ok,
            f"{spoof['attempts']} attempts, first 429 at #{spoof['first_429_at']}",
        )
    )
    figures.append(
        check_max(
            "peak RSS of the API process after the load (VmHWM)", peak_rss_mb, 150, "MB", inclusive=False
        )
    )
    for m in (*lists.values(), describe, sessions, issuance):
        if m is not None and m.wrk.status_errors and m is not issuance:
            notes.append(f"{m.label}: {m.wrk.status_errors} responses >= 400 (figures are not valid)")
    runs.update(
        {
            "ceiling": [first.as_dict(), second.as_dict()],
            "apps_list": {str(size): m.as_dict() for size, m in lists.items()},
            "describe": describe and describe.as_dict(),
            "sessions": sessions.as_dict(),
            "device_code": issuance.as_dict(),
            "spoofing": spoof,
            "sql_per_request_probes": probes,
            "wrk_duration_s": DURATION,
        }
    )
    return publish(NAME, TITLE, figures, runs, notes)


def _code_request_lua() -> str:
    """wrk Lua: a device code request from a new client address each time (needs ``xff_lua``)."""
    return r"""
answers = {}
request = function()
  return wrk.format("POST", "/openapi/v1/oauth/device/code",
    {["Content-Type"] = "application/json", ["X-Forwarded-For"] = client_ip()},
    '{"client_id":"difyctl","device_label":"bench device"}')
end
response = function(status, headers, body)
  local key = "status_" .. status
  answers[key] = (answers[key] or 0) + 1
end
"""


if __name__ == "__main__":
    sys.exit(main())
