"""The processes a benchmark starts and must not leave behind: ``difyd`` servers, a private Redis, the
throw-away PostgreSQL database and its migrations.

Everything started here runs in a session or under a handle of its own, so that it is stopped by its own
process id (never by name: other work may run on the same machine), and a signal unwinds the script
through its ``with`` blocks instead of killing it before it has cleaned up.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from knobs import DIFYD, PG_ADMIN_URL, REPO, SERVER_SOURCE, SOURCE_PATHS


def child_env() -> dict[str, str]:
    """The environment of a ``difyd`` child: this tree's sources first (or BENCH_SERVER_SOURCE's)."""
    paths = SOURCE_PATHS
    if SERVER_SOURCE:
        paths = (SERVER_SOURCE, str(Path(SERVER_SOURCE) / "examples" / "hello_plugin"))
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(paths)}


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def unwind_on_signals() -> None:
    """SIGTERM (run_all's time limit) and SIGINT (even if inherited as ignored) raise KeyboardInterrupt,
    so that every ``with`` block on the way out stops its servers and drops its database."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


# ---------------------------------------------------------------------------------------------------
# HTTP probes (urllib: no client library's start-up or CPU in the figures)


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status of a GET, or None when nothing answers."""
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
# The server


@dataclass
class Server:
    """One ``difyd --config X run --no-migrate`` process (one uvicorn worker) on 127.0.0.1:``port``."""

    config: Path
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        """Start the process and wait for the first 200 on /healthz (``startup_seconds`` is the wait)."""
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
        """The server's ``difyd_sql_statements_total`` so far (its /metrics)."""
        body = http_get(self.base + "/metrics")
        match = re.search(r"^difyd_sql_statements_total(?:\{[^}]*\})?\s+(\S+)", body, re.MULTILINE)
        return float(match.group(1)) if match else 0.0


def migrate(config: Path) -> None:
    """``difyd --config X database upgrade``, from the same sources the server will run."""
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


# ---------------------------------------------------------------------------------------------------
# PostgreSQL (through psql as the trusted ``postgres`` user on 127.0.0.1:5432)


def psql(sql: str, database: str | None = None) -> None:
    """Run one statement in ``database`` (default: the admin database)."""
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database if database else PG_ADMIN_URL
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


def create_database(name: str) -> None:
    psql(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    # FORCE: a server that did not stop cleanly may still hold connections.
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------------------
# The private Redis


class PrivateRedis:
    """A ``redis-server`` of this benchmark's own, without persistence: its INFO counters and CPU time
    count only this benchmark's traffic (other work on the machine's shared Redis would pollute them)."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if ping.stdout.strip() == "PONG":
                return self
            time.sleep(0.05)
        raise RuntimeError(f"private redis on port {self.port} did not start (port taken?)")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
