"""What every benchmark shares: a throw-away production stack, one server process, wrk, counters, a table.

A ``Stack`` is a fresh PostgreSQL database plus a private Redis (port 5179, so that Redis' INFO counters
count only this benchmark's traffic; ``BENCH_SHARED_REDIS=1`` uses 127.0.0.1:6379 with a unique key prefix
instead). ``Stack.config()`` writes a production TOML, ``Stack.server()`` starts one
``difyd --config X run --no-migrate`` process (one uvicorn worker) and waits for /healthz.
``measure()`` runs wrk against it and turns deltas of ``difyd_sql_statements_total`` (/metrics) and of
Redis ``total_commands_processed`` / ``total_reads_processed`` into per-request figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
DIFYD = BIN / "difyd"
RESULTS_DIR = REPO / "bench" / "results"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PRIVATE_REDIS_PORT = 5179
SERVER_PORTS = (5171, 5172, 5173, 5174, 5175, 5176, 5177, 5178)

# The repository first on the path: the benchmark reads the tree it sits in, even if the editable
# install is being rebuilt meanwhile.
SOURCE_PATHS = (str(REPO), str(REPO / "examples" / "hello_plugin"))
for _path in reversed(SOURCE_PATHS):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Knobs (environment): every run is bounded; the defaults keep `make bench` well under 10 minutes.
DURATION = float(os.environ.get("BENCH_DURATION", "10"))  # seconds per wrk run
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
SHARED_REDIS = os.environ.get("BENCH_SHARED_REDIS", "") == "1"
KEEP_DB = os.environ.get("BENCH_KEEP_DB", "") == "1"
# BENCH_PROFILE=<text>: py-spy samples the server during every wrk run whose label contains <text>
# (collapsed stacks into bench/results/profile-<label>.txt; `pip install py-spy` first).
PROFILE = os.environ.get("BENCH_PROFILE", "")

# The bearer per-token limiter is switched off for throughput runs (one token, thousands of requests a
# second); its cost is measured separately with a limit far above the offered load.
LIMITER_OFF = 0
LIMITER_HIGH = 100_000_000

SECRET_KEY = "bench-" + "k" * 40
PASSWORD = "correct horse battery staple"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# TOML (the few shapes our settings use: scalars, lists of strings, nested tables)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def toml_dumps(tree: dict[str, Any], prefix: str = "") -> str:
    scalars = [f"{key} = {_toml_value(value)}" for key, value in tree.items() if not isinstance(value, dict)]
    lines = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for key, value in tree.items():
        if isinstance(value, dict):
            text += toml_dumps(value, f"{prefix}.{key}" if prefix else key)
    return text


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def builtin_plugins() -> list[str]:
    """Every plugin shipped in this repository (entry points whose module lives under plugins/)."""
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group="difyd.plugins") if ep.value.startswith("plugins."))


def plugin_has_routes(name: str) -> bool:
    """Whether a built-in plugin already serves HTTP routes (benchmarks skip what is not built yet)."""
    path = REPO / "plugins" / name / "plugin.py"
    return path.exists() and "def route_handlers" in path.read_text()


# ---------------------------------------------------------------------------------------------------
# Server process


@dataclass
class Server:
    config: Path
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        handle = self.log_path.open("ab")
        started = time.perf_counter()
        # Own session: stop() signals exactly this process group, by id.
        self.process = subprocess.Popen(
            [str(DIFYD), "--config", str(self.config), "run", "--port", str(self.port), "--no-migrate"],
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
            env=child_env(),
        )
        handle.close()
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log_tail()}")
            if http_status(self.base + "/healthz", timeout=0.5) == 200:
                self.startup_seconds = time.perf_counter() - started
                return self
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def proc_status(self, field_name: str) -> int:
        """A /proc/<pid>/status memory figure (VmHWM = peak RSS, VmRSS = now), in KiB."""
        assert self.process is not None
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
        return int(match.group(1)) if match else 0

    def sql_statements(self) -> float:
        body = http_get(self.base + "/metrics")
        match = re.search(r"^difyd_sql_statements_total(?:\{[^}]*\})?\s+(\S+)", body, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    def served_routes(self) -> set[str]:
        """Paths in the server's OpenAPI document: which endpoints exist in this build."""
        try:
            return set(json.loads(http_get(self.base + "/schema/openapi.json")).get("paths", {}))
        except (OSError, ValueError):
            return set()


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _processes_cpu(marker: str) -> dict[int, float]:
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
            found[int(entry.name)] = _process_cpu(int(entry.name))
    return found


# BENCH_SERVER_SOURCE=<a checkout of another commit> runs the server (and its migrations) from that
# tree, to measure a change against the code before it with the same harness on the same machine.
SERVER_SOURCE = os.environ.get("BENCH_SERVER_SOURCE")


def child_env() -> dict[str, str]:
    paths = SOURCE_PATHS
    if SERVER_SOURCE:
        paths = (SERVER_SOURCE, str(Path(SERVER_SOURCE) / "examples" / "hello_plugin"))
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(paths)}


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def http_get(url: str, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


# ---------------------------------------------------------------------------------------------------
# The stack: database, Redis, configs, servers


class Stack:
    """A fresh database and Redis for one benchmark script; everything is removed on exit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.db_name = f"difyd_bench_{name}_{secrets.token_hex(3)}"
        self.key_prefix = f"bench:{name}:{secrets.token_hex(3)}:"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"difyd-bench-{name}-"))
        self.redis_port = 6379 if SHARED_REDIS else PRIVATE_REDIS_PORT
        self._redis_process: subprocess.Popen[bytes] | None = None
        self._servers: list[Server] = []
        self._configs = 0
        self._redis: Any = None

    # -- lifecycle
    def __enter__(self) -> Stack:
        # SIGTERM (run_all's time limit) and SIGINT (even if inherited as ignored) unwind through
        # __exit__, which stops the servers and drops the database.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if not SHARED_REDIS:
            self._start_private_redis()
        self._psql(f'CREATE DATABASE "{self.db_name}"')
        log(f"database {self.db_name}, redis 127.0.0.1:{self.redis_port}, key prefix {self.key_prefix}")
        return self

    def __exit__(self, *_: Any) -> None:
        for server in self._servers:
            server.stop()
        if not KEEP_DB:
            self._psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        if self._redis is not None:
            self._redis.close()
        if self._redis_process is not None:
            self._redis_process.terminate()
            self._redis_process.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _start_private_redis(self) -> None:
        self._redis_process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(PRIVATE_REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            if (
                subprocess.run(
                    ["redis-cli", "-p", str(PRIVATE_REDIS_PORT), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"private redis on port {PRIVATE_REDIS_PORT} did not start (port taken?)")

    def _psql(self, sql: str, database: str | None = None) -> None:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database if database else PG_ADMIN_URL
        subprocess.run(
            ["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True
        )

    def vacuum_analyze(self) -> None:
        """After bulk seeding: planner statistics and the visibility map, as autovacuum would leave them
        on a live system within a minute (without it PostgreSQL plans against an empty-table guess)."""
        self._psql("VACUUM ANALYZE", self.db_name)

    # -- configuration
    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def settings_tree(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        base: dict[str, Any] = {
            "mode": "production",
            "data_dir": str(self.tmp / "data"),
            "secret_key": SECRET_KEY,
            "console_web_url": "http://127.0.0.1",
            "console_api_url": "http://127.0.0.1",
            "server": {"host": "127.0.0.1", "trusted_proxies": ["10.0.0.0/8"]},
            "database": {
                "url": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.db_name}",
                "pool_size": 10,
            },
            "redis": {"url": self.redis_url},
            "state": {"backend": "redis", "key_prefix": self.key_prefix},
            "jobs": {"backend": "saq", "queue": self.key_prefix + "jobs"},
            "bearer": {"enabled": True, "rate_limit_per_token": LIMITER_OFF},
            # Many benchmark clients sign in from 127.0.0.1: the console login limits would refuse them.
            "console": {"login_limit_per_ip": 100_000, "login_limit_per_account": 100_000},
            "log": {"level": "WARNING", "json": True},
        }
        return deep_merge(base, overrides or {})

    def config(self, overrides: dict[str, Any] | None = None, label: str = "") -> Path:
        self._configs += 1
        path = self.tmp / f"config-{self._configs}{'-' + label if label else ''}.toml"
        path.write_text(toml_dumps(self.settings_tree(overrides)))
        return path

    def migrate(self, config: Path) -> None:
        result = subprocess.run(
            [str(DIFYD), "--config", str(config), "database", "upgrade"],
            env=child_env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"migration failed:\n{result.stdout}\n{result.stderr}")

    def server(self, config: Path, port: int) -> Server:
        server = Server(config, port, self.tmp / f"server-{port}.log")
        self._servers.append(server)
        return server.start()

    def settings(self, config: Path) -> Any:
        from core.plugins import load_host_settings

        return load_host_settings(str(config))

    # -- CPU accounting: where the machine's time goes during a run
    def cpu_snapshot(self, server: Server) -> dict[str, Any]:
        """CPU seconds so far of the server, this benchmark's PostgreSQL backends and Redis, and of the
        load generators (wrk, waited for by this process, and this process itself)."""
        import resource

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "server": _process_cpu(server.process.pid) if server.process else 0.0,
            "postgres": _processes_cpu(self.db_name),
            "redis": _process_cpu(self._redis_process.pid) if self._redis_process else 0.0,
            "load": children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime,
        }

    def cpu_since(self, server: Server, before: dict[str, Any]) -> dict[str, float]:
        after = self.cpu_snapshot(server)
        postgres = sum(
            seconds - before["postgres"].get(pid, 0.0) for pid, seconds in after["postgres"].items()
        )
        cpu = {
            "server": after["server"] - before["server"],
            "postgres": postgres,
            "redis": after["redis"] - before["redis"],
            "load": after["load"] - before["load"],
        }
        if SHARED_REDIS:
            cpu.pop("redis")
        return cpu

    # -- Redis counters
    def redis_counters(self) -> tuple[int, int]:
        """(commands, read events) processed by Redis so far. Lua-internal commands count as commands;
        a read event is one request arriving on a socket, i.e. one round trip (a pipeline counts once)."""
        if self._redis is None:
            import redis

            self._redis = redis.Redis(port=self.redis_port)  # one connection: each INFO is one read
        stats = self._redis.info("stats")
        return int(stats["total_commands_processed"]), int(stats.get("total_reads_processed", 0))


# ---------------------------------------------------------------------------------------------------
# wrk

_DONE_LUA = r"""
local __threads = {}
function setup(thread)
  thread:set("thread_index", #__threads)
  table.insert(__threads, thread)
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(__threads) do
    local c = t:get("answers")
    if c then for k, v in pairs(c) do counts[k] = (counts[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format("%q:%d", k, v)) end
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d," ..
    "\"max_us\":%d,\"status_errors\":%d,\"connect_errors\":%d,\"read_errors\":%d,\"write_errors\":%d," ..
    "\"timeouts\":%d,\"answers\":{%s}}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, table.concat(parts, ",")))
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for our ASCII values


def lua_script(
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    extra: str = "",
) -> str:
    """A wrk script: fixed method/headers/body, optional request/response functions, a JSON summary."""
    lines = [f"wrk.method = {lua_string(method)}"]
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    return "\n".join(lines) + "\n" + extra + "\n" + _DONE_LUA


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int  # responses with status >= 400
    socket_errors: int
    answers: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    url: str,
    script: str,
    duration: float = DURATION,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    timeout_s: int = 5,
) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    try:
        command = [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration:g}s",
            f"--timeout={timeout_s}s",
            "--latency",
            "-s",
            script_path,
            url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script_path)
    match = re.search(r"^BENCH_JSON (.*)$", result.stdout, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(match.group(1))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        status_errors=data["status_errors"],
        socket_errors=sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")),
        answers=data["answers"],
    )


@dataclass
class Measurement:
    """One wrk run with the server's SQL and Redis traffic per request during it."""

    label: str
    wrk: WrkResult
    sql_statements: float
    redis_commands: int
    redis_round_trips: int
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
        return self.per_request(round_trips(self.redis_commands, self.redis_round_trips))

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


def start_profile(server: Server, label: str, seconds: float) -> subprocess.Popen[bytes] | None:
    if not PROFILE or PROFILE.lower() not in label.lower() or server.process is None:
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / ("profile-" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + ".txt")
    log(f"profiling {label} -> {out.relative_to(REPO)}")
    return subprocess.Popen(
        [
            str(BIN / "py-spy"),
            "record",
            "-p",
            str(server.process.pid),
            "-d",
            str(int(seconds)),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def round_trips(commands: int, reads: int) -> int:
    """An upper bound on request/response exchanges with Redis: each one carries at least one command
    (Lua-internal commands inflate the command count) and at least one socket read (a client closing
    its connection, or a request split across packets, inflates the read count)."""
    return min(commands, reads)


def measure(stack: Stack, server: Server, label: str, path: str, script: str, **wrk_args: Any) -> Measurement:
    sql_before = server.sql_statements()
    commands_before, reads_before = stack.redis_counters()
    cpu_before = stack.cpu_snapshot(server)
    profiler = start_profile(server, label, wrk_args.get("duration", DURATION))
    result = run_wrk(server.base + path, script, **wrk_args)
    if profiler is not None:
        profiler.wait(timeout=60)
    cpu = stack.cpu_since(server, cpu_before)
    commands_after, reads_after = stack.redis_counters()
    sql_after = server.sql_statements()
    # The first INFO call itself is counted by the second one: one command, one read.
    measurement = Measurement(
        label,
        result,
        sql_after - sql_before,
        commands_after - commands_before - 1,
        reads_after - reads_before - 1,
        cpu,
    )
    log(measurement.line())
    return measurement


def measure_ceiling(stack: Stack, server: Server, label: str = "ceiling GET /healthz") -> Measurement:
    return measure(stack, server, label, "/healthz", lua_script())


# ---------------------------------------------------------------------------------------------------
# HTTP clients for flows wrk cannot script (console login, device flow)


async def console_login(client: Any, email: str, password: str = PASSWORD) -> None:
    """Sign in on the console; the client keeps the session and CSRF cookies."""
    response = await client.post("/console/api/login", json={"email": email, "password": password})
    response.raise_for_status()


def csrf_header(client: Any) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies.get("csrf_token") or client.cookies.get("__Host-csrf_token") or ""}


async def device_login(client: Any, label: str) -> dict[str, Any]:
    """The difyctl login: device code -> approval in the console session -> first poll -> token payload."""
    code = await client.post(
        "/openapi/v1/oauth/device/code", json={"client_id": "difyctl", "device_label": label}
    )
    code.raise_for_status()
    grant = code.json()
    approve = await client.post(
        "/openapi/v1/oauth/device/approve",
        json={"user_code": grant["user_code"]},
        headers=csrf_header(client),
    )
    approve.raise_for_status()
    poll = await client.post(
        "/openapi/v1/oauth/device/token", json={"device_code": grant["device_code"], "client_id": "difyctl"}
    )
    payload = poll.json()
    if "token" not in payload:
        raise RuntimeError(f"device login failed: {poll.status_code} {payload}")
    return payload


async def mint_token(base: str, email: str, label: str = "bench") -> str:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await console_login(client, email)
        return str((await device_login(client, label))["token"])


def bearer_script(token: str, method: str = "GET") -> str:
    return lua_script(method, {"Authorization": f"Bearer {token}"})


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


# ---------------------------------------------------------------------------------------------------
# Report: table + JSON


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str = ""
    ceiling: float | None = None
    target: str = ""
    passed: bool | None = None  # None: informational (or not measured)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.ceiling:
            return None
        return self.value / self.ceiling


def check_ratio(name: str, m: Measurement | None, ceiling: float, minimum: float, note: str = "") -> Figure:
    if m is None:
        return Figure(name, None, "req/s", ceiling, f"ratio >= {minimum}", None, note or "not measured")
    ratio = m.rps / ceiling if ceiling else 0.0
    return Figure(name, m.rps, "req/s", ceiling, f"ratio >= {minimum}", ratio >= minimum, note)


def check_max(
    name: str, value: float | None, maximum: float, unit: str = "", note: str = "", inclusive: bool = True
) -> Figure:
    op = "<=" if inclusive else "<"
    if value is None:
        return Figure(
            name, None, unit, None, f"{op} {maximum:g}{unit and ' ' + unit}", None, note or "not measured"
        )
    ok = value <= maximum if inclusive else value < maximum
    return Figure(name, value, unit, None, f"{op} {maximum:g}{unit and ' ' + unit}", ok, note)


def info(
    name: str, value: float | None, unit: str = "", note: str = "", ceiling: float | None = None
) -> Figure:
    return Figure(name, value, unit, ceiling, "", None, note)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "req/s" or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}" if value else "0"
    return f"{text} {unit}".strip()


def print_table(title: str, figures: list[Figure], notes: list[str] | None = None) -> None:
    rows = [("figure", "value", "ceiling (same run)", "ratio", "target", "verdict")]
    for f in figures:
        verdict = "-" if f.passed is None else ("PASS" if f.passed else "FAIL")
        if f.value is None:
            verdict = "SKIPPED"
        rows.append(
            (
                f.name,
                _fmt(f.value, f.unit),
                _fmt(f.ceiling, "req/s") if f.ceiling else "",
                f"{f.ratio:.2f}" if f.ratio is not None else "",
                f.target,
                verdict + (f" ({f.note})" if f.note else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print(f"\n== {title} ==")
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
        if index == 0:
            print("  ".join("-" * w for w in widths) + "  -------")
    for note in notes or []:
        print(f"  * {note}")
    sys.stdout.flush()


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "git": git.stdout.strip(),
        "duration_s": DURATION,
        "connections": CONNECTIONS,
        "threads": THREADS,
        "redis": "shared 6379" if SHARED_REDIS else f"private {PRIVATE_REDIS_PORT}",
    }


def write_results(name: str, figures: list[Figure], runs: dict[str, Any], notes: list[str]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "bench": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "figures": [{**f.__dict__, "ratio": f.ratio} for f in figures],
        "runs": runs,
        "notes": notes,
    }
    path.write_text(json.dumps(document, indent=2, default=str))
    log(f"results written to {path.relative_to(REPO)}")
    return path


def median(values: list[float]) -> float:
    return statistics.median(values)


def ceiling_of(*runs: Measurement) -> float:
    """The bare-route ceiling: the mean of the runs taken before and after the measured routes."""
    return sum(m.rps for m in runs) / len(runs)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


@contextlib.contextmanager
def section(title: str) -> Iterator[None]:
    log(f"--- {title}")
    yield
