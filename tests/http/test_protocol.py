"""What one connection may cost a real ``difyd run``: a slow or oversized request head, a stalled body,
an unparseable request. Sockets against a server process (uvicorn with the project's protocol)."""

from __future__ import annotations

import concurrent.futures
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

from core.testing.fixtures import SECRET
from tests.support.faults import free_port
from tests.support.probes import write_config

DIFYD = str(Path(sys.executable).with_name("difyd"))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """An embedded-default server with short bounds: 1 s for a head, 1 s for a body, 8 KiB heads,
    20 connections per address, 4 requests in flight."""
    tmp = tmp_path_factory.mktemp("protocol")
    config = write_config(tmp / "difyd.toml", f"""
        data_dir = "{tmp / 'data'}"
        secret_key = "{SECRET}"
        [server]
        header_timeout = 1.0
        body_timeout = 1.0
        max_header_bytes = 8192
        max_connections_per_ip = 20
        max_concurrency = 4
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
        received = b""
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server let go while the client was still sending: what it answered is below
        try:
            while data := sock.recv(65536):
                received += data
        except (TimeoutError, ConnectionResetError):
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


def test_a_connection_that_never_speaks_is_let_go(server: int) -> None:
    """A connection that sends nothing is closed once header_timeout has passed (silently: there is no
    request to answer); it used to stay open for good and count against the server's capacity."""
    answer, took = _exchange(server)
    assert answer == b"" and 0.9 < took < 3.0


def test_a_kept_alive_connection_gets_the_same_head_deadline(server: int) -> None:
    """After one complete request, half a head on the same connection is cut off like the first would
    be (the next request's head timer starts at its first byte)."""
    complete, half = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: "
    answer, took = _exchange(server, complete, half, pause=0.2)
    first, _, rest = answer.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 408" in rest
    assert took < 3.5


def test_a_trickled_body_has_one_deadline(server: int) -> None:
    """A body sent a byte at a time never completes: the connection closes body_timeout after the head,
    however regularly the bytes keep coming."""
    head = (b"POST /console/api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 60\r\n\r\n")
    _, took = _exchange(server, head, *[b" "] * 12, pause=0.25, read_for=6.0)
    assert took < 3.5  # 12 bytes at 0.25 s would have kept it open for 3 s and more, one chunk at a time


def test_an_oversized_head_in_one_write_is_refused(server: int) -> None:
    """A complete head past max_header_bytes that arrives in one piece (one huge header, or thousands
    of small ones) is refused as well: 431, and the request never reaches the application."""
    one_big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    headers = b"".join(b"X-%d: y\r\n" % i for i in range(2000))
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
    for request in (one_big, many):
        answer, _ = _exchange(server, request)
        status, body = _error_body(answer)
        assert (status, body["code"]) == (431, "request_header_fields_too_large")


def test_one_address_cannot_hold_every_connection(server: int) -> None:
    """Past max_connections_per_ip open connections, the next one from that address is answered 429
    ErrorBody with Retry-After and closed; once its connections close, the address is served again."""
    held = [socket.create_connection(("127.0.0.1", server)) for _ in range(20)]
    try:
        answer, _ = _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, body = _error_body(answer)
        assert (status, body["code"]) == (429, "too_many_requests")
        assert b"retry-after: 1" in answer.lower()
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=2).status_code == 200


def test_idle_connections_cost_no_capacity(server: int) -> None:
    """Connections that hold no request in flight do not count against max_concurrency (4 here): with
    15 of them open, requests are served."""
    held = [socket.create_connection(("127.0.0.1", server)) for _ in range(15)]
    try:
        assert httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=2).status_code == 200
    finally:
        for sock in held:
            sock.close()


def test_requests_past_max_concurrency_get_503_error_body(server: int) -> None:
    """More requests in flight than max_concurrency (4): the excess is answered 503 ErrorBody with
    Retry-After at once, the rest are served."""

    def login(_: int) -> httpx.Response:
        body = {"email": "nobody@example.com", "password": "not-the-password"}
        return httpx.post(f"http://127.0.0.1:{server}/console/api/login", json=body, timeout=10)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(login, range(16)))
    busy = [answer for answer in answers if answer.status_code == 503]
    assert busy, [answer.status_code for answer in answers]
    assert all(answer.json()["code"] == "service_unavailable" for answer in busy)
    assert all(answer.headers["retry-after"] == "1" for answer in busy)
    assert {answer.status_code for answer in answers} <= {401, 429, 503}
