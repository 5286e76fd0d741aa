"""What one connection may cost a real ``difyd run``: a slow or oversized request head, a stalled body,
an unparseable request. Sockets against a server process (uvicorn with the project's protocol)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.faults import free_port
from tests.support.fixtures import SECRET
from tests.support.probes import write_config

DIFYD = str(Path(sys.executable).with_name("difyd"))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """An embedded-default server with short bounds: 1 s for a head, 1 s of body silence, 8 KiB heads."""
    tmp = tmp_path_factory.mktemp("protocol")
    config = write_config(tmp / "difyd.toml", f"""
        data_dir = "{tmp / 'data'}"
        secret_key = "{SECRET}"
        [server]
        header_timeout = 1.0
        body_timeout = 1.0
        max_header_bytes = 8192
        [log]
        level = "WARNING"
    """)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIFYD_")}
    command = [DIFYD, "--config", str(config), "run", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
    yield port
    process.terminate()
    process.wait(10)


def _exchange(port: int, *chunks: bytes, pause: float = 0.0, read_for: float = 5.0) -> tuple[bytes, float]:
    """Send ``chunks`` (``pause`` seconds apart), then read until the server closes; return what came
    back and how long the server took to close."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_for) as sock:
        started = time.monotonic()
        for chunk in chunks:
            sock.sendall(chunk)
            time.sleep(pause)
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except TimeoutError:
            pass
        return received, time.monotonic() - started


def _error_body(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower()
    return status, json.loads(body)


def test_a_head_that_never_finishes_is_cut_off(server: int) -> None:
    """Half a header, then silence: 408 ErrorBody once header_timeout has passed, and the connection
    closes (it used to stay open for as long as the client liked)."""
    answer, took = _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b")
    status, body = _error_body(answer)
    assert (status, body["code"], body["status"]) == (408, "request_timeout", 408)
    assert 0.9 < took < 3.0


def test_an_oversized_head_is_refused_early(server: int) -> None:
    """A head past max_header_bytes answers 431 ErrorBody and the connection closes, however much more
    the client meant to send; other requests are served meanwhile."""
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000
    answer, took = _exchange(server, big)
    status, body = _error_body(answer)
    assert (status, body["code"]) == (431, "request_header_fields_too_large")
    assert took < 1.0
    assert httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=2).status_code == 200


def test_a_stalled_body_closes_the_connection(server: int) -> None:
    """Fewer body bytes than Content-Length, then silence: the server lets go after body_timeout."""
    head = (b"POST /console/api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{\"email\":")
    _, took = _exchange(server, head)
    assert took < 3.0


def test_an_unparseable_request_gets_error_body(server: int) -> None:
    """Garbage, or both Content-Length and Transfer-Encoding: 400 in the project's ErrorBody."""
    for request in (
        b"NOT HTTP AT ALL\r\n\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    ):
        answer, _ = _exchange(server, request)
        status, body = _error_body(answer)
        assert status == 400 and body["code"] == "bad_request", answer[:200]


def test_head_requests_are_answered_like_get_without_a_body(server: int) -> None:
    """HEAD on any GET route: the same status and headers, no body (probes and curl -I use it)."""
    head = httpx.head(f"http://127.0.0.1:{server}/healthz", timeout=2)
    get = httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=2)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    api = httpx.head(f"http://127.0.0.1:{server}/openapi/v1/_health", timeout=2)
    assert api.headers["x-frame-options"] == "DENY"
