"""Production shape: the API process enqueues, a separate ``difyd workers run`` process runs the job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.settings import DIFY_ENV_ALIASES
from core.testing.database import create_pg_database, drop_pg_database
from core.testing.fixtures import PG_ADMIN_URL, REDIS_URL, SECRET
from core.testing.jobs import forget_keys, forget_queue

PORT = 5111
BASE = f"http://127.0.0.1:{PORT}"
DIFYD = str(Path(sys.executable).with_name("difyd"))
DEADLINE = 20.0


def config_toml(database_url: str, data_dir: Path, key_prefix: str, queue: str) -> str:
    return f"""
mode = "production"
data_dir = "{data_dir}"
secret_key = "{SECRET}"
console_web_url = "http://127.0.0.1:{PORT}"

[database]
url = "{database_url}"

[redis]
url = "{REDIS_URL}"

[state]
backend = "redis"
key_prefix = "{key_prefix}"

[jobs]
backend = "saq"
queue = "{queue}"

[log]
level = "WARNING"

[plugins]
enabled = ["oauth_device", "hello"]  # hello has a bearer route: something must issue tokens
"""


def clean_environment() -> dict[str, str]:
    """The parent's environment without settings overrides: only the config file speaks."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DIFYD_") and name not in DIFY_ENV_ALIASES
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def poll(predicate, timeout: float = DEADLINE) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"not within {timeout} s")


@pytest.fixture
async def production_config(tmp_path: Path) -> AsyncIterator[Path]:
    """A production config on a fresh PostgreSQL database, Redis state and a saq queue of its own."""
    name = f"difyd_jobs_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    queue = f"tproc{uuid.uuid4().hex[:8]}"
    key_prefix = f"tproc{uuid.uuid4().hex[:8]}:"
    database_url = await create_pg_database(PG_ADMIN_URL, name)
    path = tmp_path / "production.toml"
    path.write_text(config_toml(database_url, tmp_path, key_prefix, queue))
    try:
        yield path
    finally:
        await drop_pg_database(PG_ADMIN_URL, name)
        await forget_queue(REDIS_URL, queue)
        await forget_keys(REDIS_URL, key_prefix + "*")


@pytest.mark.slow
async def test_api_enqueued_job_runs_in_separate_saq_worker(production_config: Path, capsys):
    """POST /hello/jobs on the API stays pending until a `difyd workers run` process picks the job up."""
    env = clean_environment()
    config = ["--config", str(production_config)]
    upgrade = [DIFYD, *config, "database", "upgrade"]
    migrated = subprocess.run(upgrade, env=env, capture_output=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr.decode()

    api = subprocess.Popen([DIFYD, *config, "run", "--port", str(PORT)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    worker: subprocess.Popen[bytes] | None = None
    try:
        with httpx.Client(base_url=BASE, timeout=5) as http:

            def api_up() -> bool:
                try:
                    return http.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            api_start = poll(api_up)
            response = http.post("/hello/jobs", params={"who": "worker"})
            assert response.status_code == 202
            ticket = response.json()["ticket"]

            def done() -> bool:
                return http.get(f"/hello/jobs/{ticket}").json()["done"]

            # The API process only enqueues: without a worker nothing runs the job.
            time.sleep(1.0)
            assert done() is False

            worker = subprocess.Popen([DIFYD, *config, "workers", "run"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            ran_after = poll(done)
            assert http.get(f"/hello/jobs/{ticket}").json() == {"done": True, "who": "worker"}

            # And a job enqueued while the worker is up.
            second = http.post("/hello/jobs", params={"who": "again"}).json()["ticket"]
            second_after = poll(lambda: http.get(f"/hello/jobs/{second}").json()["done"])
    finally:
        if worker is not None:
            stop(worker)
        stop(api)
    with capsys.disabled():
        print(f"\n[saq process test] api up in {api_start:.2f} s; queued job done {ran_after:.2f} s after "
              f"worker start; next job done in {second_after:.2f} s")
    assert worker is not None and worker.stdout is not None
    output = worker.stdout.read().decode()
    assert "hello_record" in output  # the worker announces the jobs it registered
    assert worker.returncode == 0, output  # SIGTERM: a clean shutdown, not a crash
