"""The local storage's URLs over a real socket: the server runs under uvicorn on a loopback port and a
plain HTTP client talks to it, so the upload is a real streamed (chunked) request body, and the
download a real streamed response."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn

from core.app import create_app
from core.testing import factories
from core.testing.fixtures import host_for, truncate
from core.testing.token_issuer import bearer_for

from .conftest import free_port

SIZE = 3 * 1024 * 1024 + 7


async def chunks() -> AsyncIterator[bytes]:
    sent, block = 0, bytes(range(256)) * 4096  # 1 MiB
    while sent < SIZE:
        piece = block[: min(len(block), SIZE - sent)]
        sent += len(piece)
        yield piece


async def test_upload_and_download_stream_over_a_real_connection(
    make_settings: Any, probe_plugins: Any
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with host_for(make_settings(console_api_url=base), probe_plugins) as ctx:
        ed = await factories.person(ctx, "ed@example.com", "Ed")
        ws = await factories.workspace(ctx, "Acme", (ed, "editor"))
        app = await factories.app(ctx, ws, "Skills", "workflow")
        headers = await bearer_for(ctx, ed.account.id)
        # log_config=None: uvicorn would otherwise install its own logging for the rest of the session.
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(ctx=ctx), host="127.0.0.1", port=port, log_config=None, access_log=False
            )
        )
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.02)
            assets = f"{base}/console/api/apps/{app.id}/assets"
            async with httpx.AsyncClient(headers=headers, timeout=30) as http:
                made = (
                    await http.post(f"{assets}/files/upload", json={"name": "big.bin", "size": SIZE})
                ).json()
                assert made["upload_url"].startswith(base)
                put = await http.put(made["upload_url"], content=chunks())  # no length: chunked encoding
                assert put.status_code == 204, put.text
                done = await http.post(f"{assets}/files/{made['node']['id']}/complete", json={})
                expected = hashlib.sha256()
                async for piece in chunks():
                    expected.update(piece)
                assert done.json()["sha256"] == expected.hexdigest()
                url = (await http.get(f"{assets}/files/{made['node']['id']}/download-url")).json()[
                    "download_url"
                ]
                received = hashlib.sha256()
                async with http.stream("GET", url) as response:
                    assert response.status_code == 200
                    async for piece in response.aiter_bytes():
                        received.update(piece)
                assert received.hexdigest() == expected.hexdigest()
        finally:
            server.should_exit = True
            await serving
            await truncate(ctx)  # this host is the test's own: leave the database as the fixtures do
