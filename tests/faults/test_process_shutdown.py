"""A real ``difyd run`` and ``difyd workers run`` stop on SIGTERM whatever state their Redis is in: an
orchestrator's grace period is ~30 s, and a process that hangs past it is killed mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.testing.fixtures import SECRET
from tests.support.faults import RedisServer, free_port
from tests.support.probes import write_config

DIFYD = str(Path(sys.executable).with_name("difyd"))
STOP_WITHIN = 10.0  # seconds: well inside an orchestrator's grace period
pytestmark = pytest.mark.slow


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


def _start(args: list[str], config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIFYD_")}
    with log.open("wb") as out:
        return subprocess.Popen([DIFYD, "--config", str(config), *args], env=env, stdout=out, stderr=out)


def _wait_for(condition: object, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.1)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _stopped_within(process: subprocess.Popen[bytes], seconds: float) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"still running {seconds} s after SIGTERM")
    return time.monotonic() - started


@pytest.mark.parametrize("outage", ["frozen", "stopped"])
def test_api_and_worker_stop_on_sigterm_whatever_redis_does(
    redis_server: RedisServer, tmp_path: Path, outage: str
) -> None:
    """Redis frozen (SIGSTOP: connections open, nothing answers) or stopped: the API and the worker
    both exit cleanly within seconds of SIGTERM, without a traceback."""
    port = free_port()
    config = write_config(tmp_path / "difyd.toml", f"""
        data_dir = "{tmp_path / 'data'}"
        secret_key = "{SECRET}"
        [redis]
        url = "{redis_server.url}"
        [state]
        backend = "redis"
        [jobs]
        backend = "saq"
        concurrency = 4
    """)
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    api = _start(["run", "--port", str(port)], config, api_log)
    worker = _start(["workers", "run"], config, worker_log)
    try:
        _wait_for(lambda: _healthy(port), "the API answering")
        _wait_for(lambda: b"worker on queue" in worker_log.read_bytes(), "the worker starting")
        time.sleep(0.5)  # the worker is now blocked on Redis for its next job
        if outage == "frozen":
            redis_server.freeze()
        else:
            redis_server.stop()
        took = {"worker": _stopped_within(worker, STOP_WITHIN), "api": _stopped_within(api, STOP_WITHIN)}
    finally:
        redis_server.resume()
        for process in (api, worker):
            if process.poll() is None:
                process.kill()
                process.wait()
    print(f"\n  stop after SIGTERM, Redis {outage}: worker {took['worker']:.2f} s, api {took['api']:.2f} s")
    # uvicorn re-raises the SIGTERM it handled once its shutdown is complete: -15 is its clean stop.
    assert worker.returncode == 0 and api.returncode in (0, -signal.SIGTERM), (
        worker_log.read_text(), api_log.read_text()
    )
    for log in (worker_log, api_log):
        assert "Traceback" not in log.read_text(), log.read_text()
