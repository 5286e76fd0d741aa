"""The difyctl login over HTTP, the one copy in bench/: console sign-in, device code, approval, poll.

It mints the bearer tokens the wrk runs carry and is the unit of the login load (``clients.py``).
tests/support/tokens.py has the tests' own: theirs asserts on every step and clears the poll throttle
through the in-process host context, which a benchmark against a separate server process cannot reach.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
from knobs import PASSWORD

DEVICE_PATH = "/openapi/v1/oauth/device"
CLIENT_ID = "difyctl"


async def console_login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    """Sign in on the console; the client keeps the session and CSRF cookies."""
    response = await client.post("/console/api/login", json={"email": email, "password": password})
    response.raise_for_status()


def csrf_header(client: httpx.AsyncClient) -> dict[str, str]:
    """The header the console page copies from its CSRF cookie (``__Host-`` prefixed over HTTPS)."""
    return {"X-CSRF-Token": client.cookies.get("csrf_token") or client.cookies.get("__Host-csrf_token") or ""}


async def walk_device_flow(
    client: httpx.AsyncClient, label: str, approve_headers: dict[str, str], forwarded_for: str = ""
) -> tuple[str, httpx.Response]:
    """Device code -> approval (with ``approve_headers``: the console session) -> first poll.

    Stops at the first step not answered 200 and returns that step ("code", "approve" or "token") with
    its response. ``forwarded_for`` is the client address a trusted load balancer would forward.
    """
    forwarded = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    code = await client.post(
        f"{DEVICE_PATH}/code", json={"client_id": CLIENT_ID, "device_label": label}, headers=forwarded
    )
    if code.status_code != 200:
        return "code", code
    grant = code.json()
    approve = await client.post(
        f"{DEVICE_PATH}/approve",
        json={"user_code": grant["user_code"]},
        headers={**approve_headers, **forwarded},
    )
    if approve.status_code != 200:
        return "approve", approve
    poll = await client.post(
        f"{DEVICE_PATH}/token",
        json={"device_code": grant["device_code"], "client_id": CLIENT_ID},
        headers=forwarded,
    )
    return "token", poll


async def device_login(client: httpx.AsyncClient, label: str) -> dict[str, Any]:
    """The difyctl login in the client's console session; the token payload, or an exception."""
    step, response = await walk_device_flow(client, label, csrf_header(client))
    if step != "token":
        response.raise_for_status()
    payload = response.json()
    if "token" not in payload:
        raise RuntimeError(f"device login failed: {response.status_code} {payload}")
    return payload


async def mint_tokens(base: str, email: str, labels: Sequence[str]) -> list[str]:
    """One bearer token per label (one device session each) for the account ``email``."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await console_login(client, email)
        return [str((await device_login(client, label))["token"]) for label in labels]


async def mint_token(base: str, email: str, label: str = "bench") -> str:
    return (await mint_tokens(base, email, [label]))[0]


def poll_body(device_code: str) -> str:
    """The JSON body of a poll, as difyctl sends it (built once per code: the storms send it many times)."""
    return f'{{"device_code":"{device_code}","client_id":"{CLIENT_ID}"}}'


def classify_answer(status: int, body: bytes) -> str:
    """What a device-flow answer says: its ``error`` code, ``token``, or else ``status_<code>``."""
    try:
        data = json.loads(body)
    except ValueError:
        return f"status_{status}"
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return "token" if isinstance(data, dict) and "token" in data else f"status_{status}"
