"""Fixtures of the app_assets tests: the core, this plugin and the test token issuer only; an app
with an editor, a reader and an outsider.

Every test runs on both storage kinds (``storage_kind``): the local folder, and S3 on a real
S3-compatible server (moto in server mode, from PyPI) that the session starts on loopback, with a
bucket of the test's own. A test about one kind only parametrizes ``storage_kind`` itself.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from core.testing import factories
from core.testing.token_issuer import TOKEN_ISSUER, bearer_for

ENABLED_PLUGINS = ["app_assets", TOKEN_ISSUER]
S3_KEYS = {"access_key_id": "testing", "secret_access_key": "testing-secret"}
TEST_ORIGIN = "testserver.local"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for the whole session."""
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("moto_server did not start")
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(params=["local", "s3"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(make_settings: Any, storage_kind: str, request: pytest.FixtureRequest) -> Any:
    if storage_kind == "local":
        return make_settings()
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"t{uuid.uuid4().hex[:16]}"
    assert httpx.put(f"{endpoint}/{bucket}").status_code == 200
    s3 = {"bucket": bucket, "endpoint": endpoint, **S3_KEYS}
    return make_settings(**{"plugin.app_assets.storage": "s3", "plugin.app_assets.s3": s3})


async def send(client: Any, method: str, url: str, **kw: Any) -> httpx.Response:
    """A request to a URL the server handed out: this server's through the test client, any other
    (the S3 server's) over a real connection."""
    parts = urlsplit(url)
    if parts.netloc == TEST_ORIGIN:
        return await client.request(method, f"{parts.path}?{parts.query}", **kw)
    async with httpx.AsyncClient() as http:
        return await http.request(method, url, **kw)


@pytest.fixture
def enabled_plugins() -> list[str]:
    return list(ENABLED_PLUGINS)


@dataclass
class World:
    app_id: str
    base: str
    workspace: Any
    editor: dict[str, str]
    reader: dict[str, str]
    outsider: dict[str, str]


@pytest.fixture
async def world(host: Any) -> World:
    ed = await factories.person(host, "ed@example.com", "Ed")
    rita = await factories.person(host, "rita@example.com", "Rita")
    olga = await factories.person(host, "olga@example.com", "Olga")
    ws = await factories.workspace(host, "Acme", (ed, "editor"), (rita, "normal"))
    await factories.workspace(host, "Elsewhere", (olga, "owner"))
    app = await factories.app(host, ws, "Skills", "workflow")
    return World(
        app_id=str(app.id),
        workspace=ws,
        base=f"/console/api/apps/{app.id}/assets",
        editor=await bearer_for(host, ed.account.id),
        reader=await bearer_for(host, rita.account.id),
        outsider=await bearer_for(host, olga.account.id),
    )
