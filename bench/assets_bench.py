"""Issue #11: app assets. Batch upload of whole trees against the naive one-request-per-node way, and
bytes streamed through the local storage's signed URLs.

Run: ``.venv/bin/python bench/assets_bench.py``.

One API process on PostgreSQL + Redis, default plugins, local storage:

- batch upload of trees of 100, 1,000 and 10,000 nodes (folders of 8 children, depth up to 8), each
  into a fresh app: seconds per request and SQL statements per request;
- the same 1,000-node tree created the way the upstream regression did it (one request per node,
  parents first), beside the batch, in the same run: the ratio;
- a 100 MB file uploaded through its signed URL, completed (size and SHA-256) and downloaded again:
  MB/s each way, and the growth of the server's peak RSS (the body must be streamed, not held).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from config_files import LIMITER_OFF, builtin_plugins
from device_flow import mint_token
from harness import Stack
from progress import log, section
from report import Figure, check_max, info, publish
from seed import seed_owner, with_context

from core.domain import services

NAME = "assets"
PORT = 5177
S3_SERVER_PORT = 5178
S3_PORT = 5180
MOTO = Path(sys.executable).with_name("moto_server")
FANOUT = 8
MAX_DEPTH = 8
BIG = 100 * 1024 * 1024
CHUNK = 1024 * 1024


def tree_of(count: int) -> list[dict[str, Any]]:
    """``count`` nodes: folders of FANOUT children, breadth first, no deeper than MAX_DEPTH; leaves are
    files of 1 KB."""
    roots: list[dict[str, Any]] = []
    queue: list[tuple[list[dict[str, Any]], int]] = [(roots, 1)]
    made = 0
    while made < count:
        siblings, depth = queue.pop(0)
        for index in range(FANOUT):
            if made >= count:
                break
            folder = depth < MAX_DEPTH and len(queue) < count
            node: dict[str, Any] = {"name": f"n{made}", "node_type": "folder" if folder else "file"}
            if folder:
                node["children"] = []
                queue.append((node["children"], depth + 1))
            else:
                node["size"] = 1024
            siblings.append(node)
            made += 1
            del index
    return roots


async def new_app(ctx: Any, workspace_id: uuid.UUID, name: str) -> uuid.UUID:
    async with ctx.session() as session:
        app = await services.create_app(session, workspace_id, name, "workflow")
        return app.id


async def naive(client: httpx.AsyncClient, base: str, nodes: list[dict[str, Any]], parent: str | None) -> int:
    """One request per node, parents first (what the web client did while the batch ignored parent_id)."""
    requests = 0
    for node in nodes:
        if node["node_type"] == "folder":
            made = await client.post(f"{base}/folders", json={"name": node["name"], "parent_id": parent})
            requests += 1 + await naive(client, base, node["children"], made.json()["id"])
        else:
            body = {"name": node["name"], "size": node["size"], "parent_id": parent}
            assert (await client.post(f"{base}/files/upload", json=body)).status_code == 201
            requests += 1
    return requests


async def chunks(total: int) -> AsyncIterator[bytes]:
    block = b"\xa5" * CHUNK
    sent = 0
    while sent < total:
        yield block[: min(CHUNK, total - sent)]
        sent += CHUNK


async def transfer(
    server_base: str, headers: dict[str, str], app_id: uuid.UUID, put_headers: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Create a BIG file, PUT it to its upload URL (streamed), complete it, stream it back down."""
    base = f"/console/api/apps/{app_id}/assets"
    async with httpx.AsyncClient(base_url=server_base, headers=headers, timeout=600) as client:
        made = (await client.post(f"{base}/files/upload", json={"name": "big.bin", "size": BIG})).json()
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=600) as plain:  # the URL alone authorises the transfer
            put = await plain.put(made["upload_url"], content=chunks(BIG), headers=put_headers or {})
        up = time.perf_counter() - started
        assert put.status_code in (200, 204), put.text
        done = await client.post(f"{base}/files/{made['node']['id']}/complete", json={})
        assert done.status_code == 200, done.text
        url = (await client.get(f"{base}/files/{made['node']['id']}/download-url")).json()["download_url"]
        received = 0
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=600) as plain, plain.stream("GET", url) as response:
            async for part in response.aiter_bytes(CHUNK):
                received += len(part)
        down = time.perf_counter() - started
    assert received == BIG, received
    return up, down, received


def s3_transfer(
    stack: Stack, settings: Any, headers: dict[str, str], app_id: uuid.UUID
) -> tuple[float, float, int]:
    """The same transfer with ``storage = "s3"`` on a moto server: a second API process on the same
    database (the same token works), the bytes going straight between client and object store."""
    moto = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(S3_PORT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{S3_PORT}"
        for _ in range(100):
            try:
                httpx.put(f"{endpoint}/bench-assets", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        config = stack.config(
            {
                "plugins": {"enabled": builtin_plugins()},
                "bearer": {"rate_limit_per_token": LIMITER_OFF},
                "console_api_url": f"http://127.0.0.1:{S3_SERVER_PORT}",
                "plugin": {
                    "app_assets": {
                        "storage": "s3",
                        "s3": {
                            "bucket": "bench-assets",
                            "endpoint": endpoint,
                            "access_key_id": "bench",
                            "secret_access_key": "bench-secret",
                        },
                    }
                },
            },
            "assets-s3",
        )
        server = stack.server(config, S3_SERVER_PORT)
        try:
            with section("100 MB through S3 presigned URLs (moto)"):
                return asyncio.run(transfer(server.base, headers, app_id, {"Content-Length": str(BIG)}))
        finally:
            server.stop()
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def main() -> int:
    notes = [
        f"trees: folders of {FANOUT} children, breadth first, at most {MAX_DEPTH} deep; files of 1 KB",
        "each batch goes into a fresh app; the naive run creates the same 1,000-node tree node by node",
        "SQL statements per request from the server's difyd_sql_statements_total",
        f"transfer: one {BIG // (1024 * 1024)} MB file through the local signed URLs, up and down",
    ]
    figures: list[Figure] = []
    runs: dict[str, Any] = {}
    with Stack(NAME) as stack:
        config = stack.config(
            {
                "plugins": {"enabled": builtin_plugins()},
                "bearer": {"rate_limit_per_token": LIMITER_OFF},
                # The signed transfer URLs are built from it: this server's own address.
                "console_api_url": f"http://127.0.0.1:{PORT}",
            },
            "assets",
        )
        stack.migrate(config)
        settings = stack.settings(config)
        seeded = asyncio.run(with_context(settings, seed_owner))
        workspace = next(iter(seeded.workspaces.values()))
        apps = {
            label: asyncio.run(
                with_context(settings, lambda ctx, label=label: new_app(ctx, workspace, label))
            )
            for label in ("b100", "b1000", "b10000", "naive", "big", "s3")
        }
        server = stack.server(config, PORT)
        token = asyncio.run(mint_token(server.base, seeded.email))
        headers = {"Authorization": f"Bearer {token}"}

        async def batches() -> dict[int, tuple[float, float]]:
            found = {}
            async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=120) as client:
                for count in (100, 1000, 10000):
                    base = f"/console/api/apps/{apps[f'b{count}']}/assets"
                    body = {"children": tree_of(count)}
                    before = server.sql_statements()
                    started = time.perf_counter()
                    response = await client.post(f"{base}/batch-upload", json=body)
                    seconds = time.perf_counter() - started
                    statements = server.sql_statements() - before
                    assert response.status_code == 201, response.text[:300]
                    found[count] = (seconds, statements)
                    log(f"batch of {count}: {seconds:.3f} s, {statements:.0f} SQL statements")
            return found

        async def naive_run() -> tuple[float, int]:
            async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=120) as client:
                started = time.perf_counter()
                requests = await naive(
                    client, f"/console/api/apps/{apps['naive']}/assets", tree_of(1000), None
                )
                return time.perf_counter() - started, requests

        with section("batch upload: 100, 1,000, 10,000 nodes"):
            batch = asyncio.run(batches())
        with section("naive: 1,000 nodes, one request each"):
            naive_seconds, naive_requests = asyncio.run(naive_run())
        rss_before = server.proc_status("VmHWM")
        with section("100 MB through the local signed URLs"):
            up, down, received = asyncio.run(transfer(server.base, headers, apps["big"]))
        rss_after = server.proc_status("VmHWM")
        server.stop()
        s3 = s3_transfer(stack, settings, headers, apps["s3"]) if MOTO.exists() else None

    for count, (seconds, statements) in batch.items():
        figures.append(info(f"batch of {count:,} nodes: time", seconds * 1000, "ms"))
        figures.append(info(f"batch of {count:,} nodes: SQL statements", statements, ""))
    figures.append(check_max("batch of 10,000 nodes", batch[10000][0], 1.5, "s"))
    ratio = naive_seconds / batch[1000][0]
    figures.append(
        info("naive 1,000 nodes (one request each)", naive_seconds * 1000, "ms", f"{naive_requests} requests")
    )
    figures.append(Figure("naive / batch at 1,000 nodes", ratio, "x", None, ">= 50x", ratio >= 50.0))
    mb = BIG / (1024 * 1024)
    figures.append(info("upload through the signed URL", mb / up, "MB/s"))
    figures.append(info("download through the signed URL", mb / down, "MB/s", f"{received:,} bytes"))
    figures.append(check_max("peak RSS growth over the transfer", (rss_after - rss_before) / 1024, 20, "MB"))
    runs["batch"] = {str(k): {"seconds": v[0], "statements": v[1]} for k, v in batch.items()}
    runs["naive"] = {"seconds": naive_seconds, "requests": naive_requests}
    if s3 is None:
        figures.append(info("S3: 100 MB up / down", None, "MB/s", "moto_server not installed"))
    else:
        s3_up, s3_down, _ = s3
        note = "straight to the S3-compatible server (moto), difyd only signs: moto's own speed"
        figures.append(info("S3 (moto): upload through the presigned URL", mb / s3_up, "MB/s", note))
        figures.append(info("S3 (moto): download through the presigned URL", mb / s3_down, "MB/s"))
        runs["s3"] = {"up_seconds": s3_up, "down_seconds": s3_down}
    runs["transfer"] = {"up_seconds": up, "down_seconds": down, "rss_kb": [rss_before, rss_after]}
    return publish(NAME, "issue #11: app assets (bench/assets_bench.py)", figures, runs, notes)


if __name__ == "__main__":
    sys.exit(main())
