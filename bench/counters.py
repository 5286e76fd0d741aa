"""What the machine did during a stretch of load: the server's SQL statements, Redis commands and round
trips, and the CPU seconds of every process involved.

Each figure is the difference of a counter read before and after the load, so this module is the one to
change when a counter's source changes (the /metrics name, Redis' INFO fields, /proc's layout).
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from processes import Server

_TICKS = os.sysconf("SC_CLK_TCK")


def round_trips(commands: int, reads: int) -> int:
    """An upper bound on request/response exchanges with Redis: each one carries at least one command
    (Lua-internal commands inflate the command count) and at least one socket read (a client closing
    its connection, or a request split across packets, inflates the read count)."""
    return min(commands, reads)


class RedisCounters:
    """Redis' INFO stats over one connection of our own, opened on first use."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._client: Any = None

    def read(self) -> tuple[int, int]:
        """(commands, read events) processed by Redis so far. Lua-internal commands count as commands;
        a read event is one request arriving on a socket, i.e. one round trip (a pipeline counts once)."""
        if self._client is None:
            import redis

            self._client = redis.Redis(port=self.port)  # one connection: each INFO is one read
        stats = self._client.info("stats")
        return int(stats["total_commands_processed"]), int(stats.get("total_reads_processed", 0))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


# ---------------------------------------------------------------------------------------------------
# CPU time, from /proc and getrusage


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def cpu_seconds_by_command_line(marker: str) -> dict[int, float]:
    """CPU seconds of every process whose command line mentions ``marker`` (PostgreSQL names each
    backend after its database in the process title)."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in title:
            found[int(entry.name)] = process_cpu_seconds(int(entry.name))
    return found


@dataclass
class CpuSnapshot:
    server: float
    postgres: dict[int, float]  # per backend: backends come and go during a run
    redis: float
    load: float


@dataclass(frozen=True)
class CpuSources:
    """The processes whose CPU time a run reports: where the machine's time goes."""

    server_pid: int | None
    database_name: str
    redis_pid: int | None  # None: the shared Redis, whose CPU time is not this benchmark's alone

    def snapshot(self) -> CpuSnapshot:
        """CPU seconds so far of the server, this benchmark's PostgreSQL backends and Redis, and of the
        load generators (wrk, waited for by this process, and this process itself)."""
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        return CpuSnapshot(
            server=process_cpu_seconds(self.server_pid) if self.server_pid else 0.0,
            postgres=cpu_seconds_by_command_line(self.database_name),
            redis=process_cpu_seconds(self.redis_pid) if self.redis_pid else 0.0,
            load=children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime,
        )

    def since(self, before: CpuSnapshot) -> dict[str, float]:
        """CPU seconds per component since ``before``, in the order the reports print them."""
        after = self.snapshot()
        postgres = sum(seconds - before.postgres.get(pid, 0.0) for pid, seconds in after.postgres.items())
        cpu = {
            "server": after.server - before.server,
            "postgres": postgres,
            "redis": after.redis - before.redis,
            "load": after.load - before.load,
        }
        if self.redis_pid is None:
            cpu.pop("redis")
        return cpu


# ---------------------------------------------------------------------------------------------------
# Around a block of load


class Traffic:
    """SQL statements, Redis traffic and CPU seconds of a block of load, read around a ``with``:

    ``with stack.traffic(server) as traffic: <load>`` then ``traffic.sql``, ``traffic.round_trips`` ...
    """

    sql: float
    commands: int
    reads: int
    round_trips: int

    def __init__(self, server: Server, redis: RedisCounters, cpu_sources: CpuSources) -> None:
        self.server = server
        self.redis = redis
        self.cpu_sources = cpu_sources
        self.cpu: dict[str, float] = {}

    def __enter__(self) -> Traffic:
        self._sql_before = self.server.sql_statements()
        self._commands_before, self._reads_before = self.redis.read()
        self._cpu_before = self.cpu_sources.snapshot()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            return  # the load failed: reading counters (from a server that may be gone) would hide why
        # Read in the reverse order of __enter__, so that each counter's window encloses the next one's.
        self.cpu = self.cpu_sources.since(self._cpu_before)
        commands, reads = self.redis.read()
        self.sql = self.server.sql_statements() - self._sql_before
        # The first INFO call itself is counted by the second one: one command, one read.
        self.commands = commands - self._commands_before - 1
        self.reads = reads - self._reads_before - 1
        self.round_trips = round_trips(self.commands, self.reads)

    def cpu_per(self, count: int) -> str:
        """CPU microseconds per unit of work (request, poll, login) for each component, as one line."""
        return " ".join(f"{k} {v / max(count, 1) * 1e6:.0f}" for k, v in self.cpu.items())
