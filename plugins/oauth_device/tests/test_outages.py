"""The device flow across a state-store outage (production backend: a private Redis broken on purpose).

An approval is either confirmed to the approver, or reported as not done, or as outcome unknown (503
``approval_outcome_unknown``); never reported as failed while it went through. A token minted for an
approval whose outcome was lost never becomes usable: it is undelivered, so it neither authenticates
nor lists, and the sweeper revokes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.testing import factories
from plugins.oauth_device.device_state import DeviceCodeStore
from plugins.oauth_device.jobs import UNDELIVERED_GRACE, revoke_undelivered_tokens
from plugins.oauth_device.runtime import runtime_of
from plugins.oauth_device.tests.helpers import (
    DEVICE,
    decide,
    device_login,
    live_rows,
    pending_code,
    poll,
    record_audit,
)
from tests.support.faults import Deployment, breakable_deployment
from tests.support.tokens import bearer


@pytest.fixture
async def deployment(backend: str, database_url: str, make_settings: Any) -> AsyncIterator[Deployment]:
    if backend != "postgres":
        pytest.skip("a Redis outage: the production backend")
    async with breakable_deployment(make_settings, database_url) as deployment:
        yield deployment


async def _alice(deployment: Deployment) -> Any:
    alice = await factories.person(deployment.ctx, email="alice@example.com")
    await factories.workspace(deployment.ctx, "Acme", (alice, "owner"))
    return alice


async def test_redis_restarted_between_approval_and_poll_leaves_no_usable_token(deployment: Deployment):
    """Approved, then Redis restarts empty before the poll: the poll answers expired_token, the minted
    token is neither usable nor listed, and the sweeper revokes it (today's fix for a live orphan)."""
    client, ctx = deployment.client, deployment.ctx
    recorder = record_audit(ctx)
    alice = await _alice(deployment)
    other = await device_login(client, alice, label="another laptop")  # to list sessions with
    started, csrf = await pending_code(client, alice)
    assert (await decide(client, csrf, started["user_code"])).json() == {"status": "approved"}
    deployment.redis.restart_empty()
    await asyncio.sleep(0.05)
    assert (await poll(client, started["device_code"])).json() == {"error": "expired_token"}
    sessions = (await client.get("/openapi/v1/account/sessions", headers=bearer(other["token"]))).json()
    assert [s["device_label"] for s in sessions["data"]] == ["another laptop"]
    orphan = next(row for row in await live_rows(ctx) if row.device_label != "another laptop")
    assert orphan.delivered_at is None
    runtime = runtime_of(ctx)
    now = runtime.clock()
    runtime.clock = lambda: now + UNDELIVERED_GRACE.total_seconds() + 1
    assert await revoke_undelivered_tokens({"host": ctx}) == 1
    assert [row.device_label for row in await live_rows(ctx)] == ["another laptop"]
    assert {"token_id": str(orphan.id), "reason": "never_delivered"} in recorder.named("oauth.token_revoked")


async def test_approval_during_a_redis_freeze_is_never_reported_failed_while_it_went_through(
    deployment: Deployment,
):
    """Redis freezes at the moment approve publishes its decision. The approver gets an answer within
    2 s: 503 approval_outcome_unknown. After Redis thaws, the decision that was queued may land: then
    the poll gets the token (which the approver was told might exist); otherwise the poll keeps
    waiting and the token never becomes usable. Either way nothing contradicts what the approver saw."""
    client, ctx = deployment.client, deployment.ctx
    alice = await _alice(deployment)
    started, csrf = await pending_code(client, alice)
    runtime = runtime_of(ctx)
    real_write = DeviceCodeStore.write_over

    async def freeze_then_write(self: DeviceCodeStore, loaded: Any, new_raw: bytes, min_ttl: float) -> bool:
        deployment.redis.freeze()
        return await real_write(self, loaded, new_raw, min_ttl)

    runtime.store.write_over = freeze_then_write.__get__(runtime.store)  # type: ignore[method-assign]
    began = time.monotonic()
    try:
        response = await asyncio.wait_for(decide(client, csrf, started["user_code"]), 10)
    finally:
        elapsed = time.monotonic() - began
        del runtime.store.write_over
        deployment.redis.resume()
    print(f"\n[outage] approve during a Redis freeze: {response.text} in {elapsed:.2f} s")
    assert response.status_code == 503
    assert response.json() == {"error": "approval_outcome_unknown"}
    assert elapsed < 2.0
    await asyncio.sleep(0.1)  # the thawed Redis runs what was queued
    outcome = (await poll(client, started["device_code"])).json()
    (row,) = await live_rows(ctx)
    if "token" in outcome:  # the queued decision landed: delivered now, and it works
        assert (await client.get("/openapi/v1/account", headers=bearer(outcome["token"]))).status_code == 200
    else:
        assert outcome == {"error": "authorization_pending"}
        assert row.delivered_at is None


async def test_approve_and_poll_answer_503_while_redis_is_down(deployment: Deployment):
    """With Redis refused, approve answers 503 service_unavailable (nothing was decided) and the poll
    503 too: never a 500. Once Redis is back the same code can be approved and polled."""
    client, ctx = deployment.client, deployment.ctx
    alice = await _alice(deployment)
    started, csrf = await pending_code(client, alice)
    deployment.redis.stop()
    try:
        approve = await decide(client, csrf, started["user_code"])
        polled = await client.post(
            f"{DEVICE}/token", json={"device_code": started["device_code"], "client_id": "difyctl"}
        )
    finally:
        deployment.redis.start()
    assert approve.status_code == 503 and approve.json()["code"] == "service_unavailable"
    assert polled.status_code == 503 and polled.json()["code"] == "service_unavailable"
    assert await live_rows(ctx) == []
    # Redis came back empty: the flow is gone, and says so; a new one works end to end.
    assert (await decide(client, csrf, started["user_code"])).json() == {"error": "expired_or_unknown"}
    assert "token" in await device_login(client, alice)
