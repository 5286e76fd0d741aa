"""One measured wrk run: the load, what the server did for it per request, and the ceiling it is
compared with.

``measure()`` wraps ``run_wrk`` in the stack's counters (SQL, Redis, CPU) and the optional profiler;
``Measurement`` turns the totals into per-request figures for the log line and the JSON results.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from counters import round_trips
from knobs import CONNECTIONS, DURATION, THREADS
from processes import Server
from profiler import profiling
from progress import log
from wrk import WrkResult, lua_script, run_wrk

if TYPE_CHECKING:
    from harness import Stack


@dataclass
class Measurement:
    """One wrk run with the server's SQL and Redis traffic per request during it."""

    label: str
    wrk: WrkResult
    sql_statements: float
    redis_commands: int
    redis_reads: int
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # component -> CPU seconds in the run

    def cpu_us_per_request(self) -> dict[str, float]:
        return {
            name: seconds / self.wrk.requests * 1e6
            for name, seconds in self.cpu_seconds.items()
            if self.wrk.requests
        }

    @property
    def rps(self) -> float:
        return self.wrk.rps

    def per_request(self, total: float) -> float:
        return total / self.wrk.requests if self.wrk.requests else float("nan")

    @property
    def sql_per_request(self) -> float:
        return self.per_request(self.sql_statements)

    @property
    def redis_commands_per_request(self) -> float:
        return self.per_request(self.redis_commands)

    @property
    def redis_round_trips_per_request(self) -> float:
        return self.per_request(round_trips(self.redis_commands, self.redis_reads))

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "requests": self.wrk.requests,
            "seconds": round(self.wrk.seconds, 2),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.wrk.p50_ms, 2),
            "p90_ms": round(self.wrk.p90_ms, 2),
            "p99_ms": round(self.wrk.p99_ms, 2),
            "max_ms": round(self.wrk.max_ms, 2),
            "status_errors": self.wrk.status_errors,
            "socket_errors": self.wrk.socket_errors,
            "answers": self.wrk.answers,
            "sql_statements": self.sql_statements,
            "sql_per_request": round(self.sql_per_request, 4),
            "redis_commands_per_request": round(self.redis_commands_per_request, 3),
            "redis_round_trips_per_request": round(self.redis_round_trips_per_request, 3),
            "cpu_us_per_request": {k: round(v, 1) for k, v in self.cpu_us_per_request().items()},
        }

    def line(self) -> str:
        w = self.wrk
        errors = f", {w.status_errors} status>=400" if w.status_errors else ""
        errors += f", {w.socket_errors} socket errors" if w.socket_errors else ""
        return (
            f"{self.label}: {self.rps:,.0f} req/s, p50 {w.p50_ms:.2f} ms, p99 {w.p99_ms:.2f} ms, "
            f"SQL/req {self.sql_per_request:.3f}, Redis cmds/req {self.redis_commands_per_request:.2f}, "
            f"Redis round trips/req {self.redis_round_trips_per_request:.2f}{errors}; CPU us/req "
            + " ".join(f"{k} {v:.0f}" for k, v in self.cpu_us_per_request().items())
        )


def measure(
    stack: Stack,
    server: Server,
    label: str,
    path: str,
    script: str,
    *,
    duration: float = DURATION,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
) -> Measurement:
    """wrk against ``server.base + path`` with ``script``, logged and returned with its counters."""
    with stack.traffic(server) as traffic, profiling(server, label, duration):
        result = run_wrk(server.base + path, script, duration, connections, threads)
    measurement = Measurement(label, result, traffic.sql, traffic.commands, traffic.reads, traffic.cpu)
    log(measurement.line())
    return measurement


def measure_ceiling(stack: Stack, server: Server, label: str = "ceiling GET /healthz") -> Measurement:
    """The bare route (no auth, no I/O): what this server process can do at all, right now."""
    return measure(stack, server, label, "/healthz", lua_script())


def ceiling_of(*runs: Measurement) -> float:
    """The bare-route ceiling: the mean of the runs taken before and after the measured routes."""
    return sum(m.rps for m in runs) / len(runs)


# ---------------------------------------------------------------------------------------------------
# Sequential requests around the runs


def warm(url: str, token: str | None = None, count: int = 20) -> None:
    """Requests before a run: the token's auth cache entry is hot and the route's code paths are warm."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(count):
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def probe_sql(server: Server, path: str, token: str | None = None, count: int = 200) -> float:
    """SQL statements per request over ``count`` sequential requests right after a warm-up: the route's
    own statements, without the auth cache's once-a-minute refresh that a long wrk run also catches."""
    warm(server.base + path, token, 5)
    before = server.sql_statements()
    warm(server.base + path, token, count)
    return (server.sql_statements() - before) / count
