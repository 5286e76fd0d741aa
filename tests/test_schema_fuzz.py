"""Schemathesis keeps /schema honest: every operation of the default server, fuzzed from its own schema.

A real ``difyd run`` process per backend (SQLite + memory; PostgreSQL + Redis) with the demo data. Three
runs each: without credentials, with a ``dfoa_`` bearer token, and with a console session (cookies and
the CSRF header). Every response must be no server error, a documented status, of the documented media
type and shaped as documented (errors included: ErrorBody, or ``{"error": ...}`` where the RFCs say so).
Examples are bounded (``SCHEMA_FUZZ_EXAMPLES``, 20 per operation and phase) to keep ``make test`` short.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.settings import DIFY_ENV_ALIASES
from core.testing.database import create_pg_database, drop_pg_database
from core.testing.fixtures import PG_ADMIN_URL, REDIS_URL, SECRET
from tests.support.faults import free_port

DIFYD = str(Path(sys.executable).with_name("difyd"))
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
EXAMPLES = int(os.environ.get("DIFYD_TEST_SCHEMA_FUZZ_EXAMPLES", "20"))
PASSWORD = "schema-fuzz-password-1"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"

pytestmark = pytest.mark.slow


@dataclass
class Served:
    base: str
    token: str
    passport: str
    csrf: str


def _config(backend: str, port: int, data_dir: Path, database_url: str) -> str:
    production = backend == "postgres"
    return f"""
mode = "{'production' if production else 'embedded'}"
data_dir = "{data_dir}"
secret_key = "{SECRET}"
console_web_url = "http://127.0.0.1:{port}"

[server]
port = {port}

[database]
url = "{database_url}"

[redis]
url = "{REDIS_URL}"

[state]
backend = "{'redis' if production else 'memory'}"
key_prefix = "tfuzz{uuid.uuid4().hex[:8]}:"

[jobs]
backend = "inprocess"

[bearer]
rate_limit_per_token = 0   # let the fuzzer reach the handlers instead of the per-token limit

[log]
level = "ERROR"
"""


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DIFYD_") and k not in DIFY_ENV_ALIASES}


def _difyd(config: Path, *args: str) -> None:
    done = subprocess.run([DIFYD, "--config", str(config), *args], env=_environment(), capture_output=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def _sign_in(base: str) -> Served:
    """The demo account's token through the real device flow, and its console session."""
    with httpx.Client(base_url=base, timeout=10) as http:
        started = http.post("/openapi/v1/oauth/device/code",
                            json={"client_id": "difyctl", "device_label": "schema fuzz"}).json()
        signed_in = http.post("/console/api/login", json={"email": "demo@example.com", "password": PASSWORD})
        signed_in.raise_for_status()
        csrf = http.cookies["csrf_token"]
        http.post("/openapi/v1/oauth/device/approve", json={"user_code": started["user_code"]},
                  headers={"X-CSRF-Token": csrf}).raise_for_status()
        polled = http.post("/openapi/v1/oauth/device/token",
                           json={"device_code": started["device_code"], "client_id": "difyctl"}).json()
        return Served(base, polled["token"], http.cookies["access_token"], csrf)


@pytest.fixture(scope="module")
async def served(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """The default server on this backend, its own database, demo data, and signed-in credentials."""
    port = free_port()
    tmp_path = tmp_path_factory.mktemp(f"fuzz-{backend}")
    config = tmp_path / "fuzz.toml"
    pg_name = f"difyd_fuzz_{os.getpid()}"
    if backend == "postgres":
        # Its own database, so the fuzzer's writes never meet another test's rows.
        database = await create_pg_database(PG_ADMIN_URL, pg_name)
    else:
        database = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.sqlite3'}"
    config.write_text(_config(backend, port, tmp_path, database))
    _difyd(config, "database", "upgrade")
    _difyd(config, "demo")
    _difyd(config, "accounts", "set-password", "--email", "demo@example.com", "--password", PASSWORD)
    server = subprocess.Popen([DIFYD, "--config", str(config), "run", "--no-migrate"], env=_environment(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield _sign_in(base)
    finally:
        server.terminate()
        try:
            _, stderr = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
        if backend == "postgres":
            await drop_pg_database(PG_ADMIN_URL, pg_name)
        # A 500 is caught by the checks; an unhandled error logged without one must not pass either.
        assert b"unhandled_exception" not in stderr, stderr.decode()[-3000:]


def _fuzz(served: Served, label: str, *extra: str) -> None:
    command = [
        SCHEMATHESIS, "--no-color", "run", f"{served.base}/schema/openapi.json",
        "--checks", CHECKS,
        "--max-examples", str(EXAMPLES),
        "--phases", "examples,coverage,fuzzing",
        "--workers", "1",
        "--request-timeout", "10",
        *extra,
    ]
    done = subprocess.run(command, capture_output=True, timeout=600, check=False)
    output = done.stdout.decode()
    lines = output.splitlines()
    cases = next((lines[i + 1].strip() for i, line in enumerate(lines) if line.startswith("Test cases:")), "")
    print(f"\n[schemathesis {label}] {cases}")
    assert done.returncode == 0, f"schemathesis ({label}) found problems:\n{output[-6000:]}"


def test_every_operation_conforms_without_credentials(served: Served) -> None:
    """Fuzzed without credentials: no 500, every status, media type and body as /schema documents."""
    _fuzz(served, "anonymous")


def test_every_operation_conforms_with_a_bearer_token(served: Served) -> None:
    """Fuzzed with a live dfoa_ token (the route that revokes the presenting token is left out, or
    the rest of the run would be anonymous)."""
    _fuzz(served, "bearer", "-H", f"Authorization: Bearer {served.token}",
          "--exclude-path", "/openapi/v1/account/sessions/self")


def test_every_operation_conforms_with_a_console_session(served: Served) -> None:
    """Fuzzed with the demo account's console session: the cookies and the CSRF header of the page."""
    _fuzz(served, "console", "-H", f"Cookie: access_token={served.passport}; csrf_token={served.csrf}",
          "-H", f"X-CSRF-Token: {served.csrf}")
