"""Atomicity (§2.3): consume-on-poll, approve vs deny, approve vs approve, publish failures, rotation."""

from __future__ import annotations

import asyncio
import datetime
from collections import Counter

import pytest

from core.auth.bearer import hash_token
from core.testing import factories
from plugins.oauth_device.approvals import DeviceApprovalService
from plugins.oauth_device.device_state import DeviceCodeStore, decode_state, device_key, encode_state
from plugins.oauth_device.tokens import TokenRepository
from tests.support.tokens import bearer, console_login

from .helpers import (
    DEVICE,
    decide,
    device_login,
    live_rows,
    pending_code,
    poll,
    record_audit,
    start_device_code,
)


class InterleavedState:
    """The real store, with a scripted concurrent writer or a dropped connection around compare_and_set."""

    def __init__(
        self,
        inner,
        before_cas=None,
        fail_cas: str | None = None,
        fail_reads: bool = False,
        failures: int = 1_000,
        after_cas=None,
        deny_success: bool = False,
    ) -> None:
        self.inner = inner
        self.before_cas = before_cas
        self.after_cas = after_cas  # runs once, right after the first write landed
        self.deny_success = deny_success  # the first write lands but answers False (a resent command)
        self.fail_cas = fail_cas  # "before" (nothing written) or "after" (written, answer lost)
        self.fail_reads = fail_reads
        self.failures = failures  # how many compare-and-sets fail before the connection heals
        self.cas_seen = False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def get(self, key):
        if self.fail_reads and self.cas_seen:
            raise ConnectionError("state store unreachable")
        return await self.inner.get(key)

    async def compare_and_set(self, key, expected, value, **kw):
        self.cas_seen = True
        failing = self.fail_cas if self.failures > 0 else None
        self.failures -= 1
        if self.before_cas is not None:
            before, self.before_cas = self.before_cas, None
            await before(key)
        if failing == "before":
            raise ConnectionError("connection dropped")
        result = await self.inner.compare_and_set(key, expected, value, **kw)
        if self.after_cas is not None:
            after, self.after_cas = self.after_cas, None
            await after(key)
        if failing == "after":
            raise ConnectionError("connection dropped after the write")
        if result and self.deny_success:
            self.deny_success = False
            return False
        return result


def interleaved(runtime, host, **kw) -> DeviceCodeStore:
    """The plugin's store on top of a scripted state store (same sealer, so payloads still open)."""
    return DeviceCodeStore(InterleavedState(host.state, **kw), runtime.store.sealer)


async def _member(host, email="alice@example.com", name="Alice"):
    person = await factories.person(host, email=email, name=name)
    await factories.workspace(host, f"{name}'s", (person, "owner"))
    return person


@pytest.fixture
def settings(make_settings):
    """These tests are about atomicity and compensation, not latency. On a loaded two-core machine a
    hundred concurrent polls can wait longer than production's 0.5 s bound on a Redis answer, and a
    compensating DELETE longer than its 0.75 s statement bound: either turns the step under test into
    an outage answer (503, or compensation left to the sweeper), which tests/faults covers on its own."""
    return make_settings(
        **{
            "redis.socket_timeout": 5,
            "redis.connect_timeout": 5,
            "database.command_timeout": 5,
            "database.pool_timeout": 5,
        }
    )


class Gate:
    """Holds every caller until ``size`` have arrived, then lets them all through at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.arrived = 0
        self.opened = asyncio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived >= self.size:
            self.opened.set()
        try:
            # Generous: on a loaded two-core machine a crowd of 100 takes seconds to get this far.
            await asyncio.wait_for(self.opened.wait(), 20)
        except TimeoutError:
            self.opened.set()  # fewer arrived: the test's count of arrivals says so


async def _crowd_of_pollers(client, host, runtime, monkeypatch, consume, size=100):
    """An approved code polled by ``size`` clients at once. The slow-down interval is off, so no poller
    is turned away before the state; every poller that reaches the consume step waits at a gate until
    all have, so ``consume`` is called by the whole crowd at the same moment."""
    runtime.poll_interval = 0
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    await decide(client, csrf, started["user_code"])
    gate = Gate(size)

    async def gated(self, hashed, raw):
        await gate.wait()
        return await consume(self, hashed, raw)

    monkeypatch.setattr(DeviceCodeStore, "consume", gated)
    body = {"device_code": started["device_code"], "client_id": "difyctl"}
    responses = await asyncio.gather(*(client.post(f"{DEVICE}/token", json=body) for _ in range(size)))
    statuses = Counter(r.status_code for r in responses)
    assert gate.arrived == size, f"every poller must reach the consume step; answers: {dict(statuses)}"
    return responses


async def test_hundred_concurrent_pollers_get_exactly_one_token(client, host, runtime, monkeypatch):
    """100 pollers of an approved code call the atomic consume (compare-and-delete) at the same moment:
    exactly one gets the token, the other 99 expired_token. That the crowd really contends is shown by
    the control test below: a get-then-delete consume under the same crowd hands out several tokens."""
    responses = await _crowd_of_pollers(client, host, runtime, monkeypatch, DeviceCodeStore.consume)
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1
    assert [r.json() for r in responses if r.status_code != 200] == [{"error": "expired_token"}] * 99


async def test_control_a_get_then_delete_consume_hands_out_several_tokens(client, host, runtime, monkeypatch):
    """Control for the test above: the same crowd with a naive consume (read, compare, then delete:
    two store calls) hands the token to more than one poller. Only the store's single atomic
    compare-and-delete keeps it to one."""

    async def get_then_delete(self, hashed, raw):
        current = await self.state.get(device_key(hashed))
        await asyncio.sleep(0)  # on Redis the delete is a second round trip; others run meanwhile
        if current != raw:
            return False
        await self.state.delete(device_key(hashed))
        return True

    responses = await _crowd_of_pollers(client, host, runtime, monkeypatch, get_then_delete)
    assert sum(1 for r in responses if r.status_code == 200) > 1


async def test_consume_is_single_winner_at_the_store(host, runtime):
    """Concurrent consumes of one terminal state: exactly one compare-and-delete wins."""
    store = DeviceCodeStore(host.state, runtime.store.sealer)
    await host.state.set(device_key("dc_race"), b'{"status":"approved"}', ttl=60)
    raw = await host.state.get(device_key("dc_race"))
    results = await asyncio.gather(*(store.consume("dc_race", raw) for _ in range(100)))
    assert results.count(True) == 1


async def test_approve_racing_deny_has_one_winner_and_no_orphan(client, host):
    """Approve and deny at once: exactly one wins; if deny wins no live token row remains."""
    alice = await _member(host)
    for _ in range(5):
        started, csrf = await pending_code(client, alice, label=f"race {_}")
        approve, deny = await asyncio.gather(
            decide(client, csrf, started["user_code"]), decide(client, csrf, started["user_code"], "deny")
        )
        statuses = sorted([approve.status_code, deny.status_code])
        assert statuses == [200, 409], (approve.text, deny.text)
        outcome = (await poll(client, started["device_code"])).json()
        rows = [row for row in await live_rows(host) if row.device_label == f"race {_}"]
        if approve.status_code == 200:
            assert "token" in outcome and len(rows) == 1
        else:
            assert outcome == {"error": "access_denied"} and rows == []


async def test_two_accounts_approving_one_code_leave_one_live_token(client, host, runtime):
    """Two accounts approve the same code at once: one approval stands, the other's row is undone."""
    alice = await _member(host)
    bob = await _member(host, "bob@example.com", "Bob")
    started = await start_device_code(client)
    import httpx

    app = client.app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    ) as other:
        csrf_a = await console_login(client, alice)
        csrf_b = await console_login(other, bob)
        first, second = await asyncio.gather(
            decide(client, csrf_a, started["user_code"]), decide(other, csrf_b, started["user_code"])
        )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    assert {first.json().get("error"), second.json().get("error")} & {"already_resolved", "state_lost"}
    rows = await live_rows(host)
    assert len(rows) == 1
    token = (await poll(client, started["device_code"])).json()
    assert token["token_id"] == str(rows[0].id)


async def test_same_account_approving_twice_at_once(client, host):
    """The same account approving one code twice at once: one 200, one 409, one live row."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    responses = await asyncio.gather(*(decide(client, csrf, started["user_code"]) for _ in range(5)))
    assert [r.status_code for r in responses].count(200) == 1
    assert {r.json()["error"] for r in responses if r.status_code != 200} <= {
        "approve_in_progress",
        "already_resolved",
        "state_lost",
    }
    assert len(await live_rows(host)) == 1


async def test_state_changed_before_deny_write_is_state_lost(client, host, runtime):
    """A state that changes between deny's check and its write answers 409 state_lost."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)

    async def meddle(key):
        state = decode_state(await host.state.get(key))
        await host.state.set(key, encode_state(state) + b" ", ttl=900)  # same meaning, other bytes

    runtime.store = interleaved(runtime, host, before_cas=meddle)
    response = await decide(client, csrf, started["user_code"], "deny")
    assert response.status_code == 409
    assert response.json() == {"error": "state_lost"}


async def test_lost_publish_undoes_the_mint(client, host, runtime):
    """When approve's compare-and-set loses, the minted row is removed: no orphan token."""
    recorder = record_audit(host)
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)

    async def meddle(key):
        state = decode_state(await host.state.get(key))
        await host.state.set(key, encode_state(state) + b" ", ttl=900)

    runtime.store = interleaved(runtime, host, before_cas=meddle)
    response = await decide(client, csrf, started["user_code"])
    assert response.json() == {"error": "state_lost"}
    assert await live_rows(host) == []
    assert recorder.named("oauth.token_mint_rolled_back")
    assert not recorder.named("oauth.device_flow_approved")


async def test_lost_publish_restores_the_rotated_predecessor(client, host, runtime):
    """A failed re-login leaves the previous token of that device working (compensation restores it)."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    await decide(client, csrf, started["user_code"])
    old = (await poll(client, started["device_code"])).json()
    again = await start_device_code(client)

    async def meddle(key):
        state = decode_state(await host.state.get(key))
        await host.state.set(key, encode_state(state) + b" ", ttl=900)

    runtime.store = interleaved(runtime, host, before_cas=meddle)
    assert (await decide(client, csrf, again["user_code"])).json() == {"error": "state_lost"}
    rows = await live_rows(host)
    assert len(rows) == 1 and rows[0].token_hash == hash_token(old["token"])
    assert (await client.get("/openapi/v1/account", headers=bearer(old["token"]))).status_code == 200


async def test_dropped_connection_after_write_is_confirmed(client, host, runtime):
    """The publish landed but its answer was lost: the repeated write is refused and the re-read finds
    our own bytes, so the approval is confirmed and the poll gets the token."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    healthy = runtime.store
    runtime.store = interleaved(runtime, host, fail_cas="after", failures=1)
    assert (await decide(client, csrf, started["user_code"])).json() == {"status": "approved"}
    runtime.store = healthy
    assert "token" in (await poll(client, started["device_code"])).json()


async def test_dropped_connection_before_write_is_written_again(client, host, runtime):
    """The publish never reached the store: the same compare-and-set, sent again, lands it (it cannot
    land twice), so the approval is confirmed."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    healthy = runtime.store
    runtime.store = interleaved(runtime, host, fail_cas="before", failures=1)
    assert (await decide(client, csrf, started["user_code"])).json() == {"status": "approved"}
    runtime.store = healthy
    assert "token" in (await poll(client, started["device_code"])).json()


async def test_lost_answer_while_someone_else_wins_compensates(client, host, runtime):
    """The publish's answer was lost and meanwhile another decision changed the state: the repeated
    write is refused, the re-read shows someone else's bytes, so state_lost and the mint is undone."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)

    async def meddle(key):
        state = decode_state(await host.state.get(key))
        await host.state.set(key, encode_state(state) + b" ", ttl=900)

    runtime.store = interleaved(runtime, host, before_cas=meddle, fail_cas="before", failures=1)
    assert (await decide(client, csrf, started["user_code"])).json() == {"error": "state_lost"}
    assert await live_rows(host) == []


async def test_write_refused_although_it_landed_is_confirmed(client, host, runtime):
    """A compare-and-set that landed but answers False (a command sent twice: the second copy finds
    the state already moved) is recognised by reading our own bytes back: approved, not undone."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    healthy = runtime.store
    runtime.store = interleaved(runtime, host, deny_success=True)
    assert (await decide(client, csrf, started["user_code"])).json() == {"status": "approved"}
    runtime.store = healthy
    assert "token" in (await poll(client, started["device_code"])).json()


async def test_a_token_already_delivered_is_never_undone(client, host, runtime):
    """The publish lands, its answer is lost, and before the approver settles it a poll consumes the
    state and receives the token. The state is gone, but the approval went through: the approver is
    told so and the token keeps working (undoing it would break the device that has it)."""
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    received = {}

    async def poll_meanwhile(_key):
        received["poll"] = (await poll(client, started["device_code"])).json()

    runtime.store = interleaved(runtime, host, fail_cas="after", failures=1, after_cas=poll_meanwhile)
    assert (await decide(client, csrf, started["user_code"])).json() == {"status": "approved"}
    token = received["poll"]["token"]
    assert (await client.get("/openapi/v1/account", headers=bearer(token))).status_code == 200


async def test_unconfirmable_outcome_is_503(client, host, runtime):
    """The publish's answer is lost and the store stays unreachable: 503 approval_outcome_unknown.
    No compensation: the approval may well have landed, and here it did, so the poll delivers."""
    recorder = record_audit(host)
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    healthy = runtime.store
    runtime.store = interleaved(runtime, host, fail_cas="after", fail_reads=True)
    response = await decide(client, csrf, started["user_code"])
    assert response.status_code == 503
    assert response.json() == {"error": "approval_outcome_unknown"}
    assert int(response.headers["retry-after"]) >= 1
    # Audited with the token's id: a token that later turns out live has its trail.
    (unknown,) = recorder.named("oauth.device_flow_approval_unknown")
    assert unknown["client_id"] == "difyctl" and unknown["token_id"]
    runtime.store = healthy
    assert len(await live_rows(host)) == 1
    assert "token" in (await poll(client, started["device_code"])).json()


async def test_unknown_outcome_that_never_landed_leaves_no_usable_token(client, host, runtime):
    """The publish never landed and the store stays unreachable (503 approval_outcome_unknown): the
    minted token is undelivered, so it neither authenticates nor lists, and the sweeper revokes it
    once no poll can come any more (audited)."""
    from plugins.oauth_device.jobs import UNDELIVERED_GRACE, revoke_undelivered_tokens

    recorder = record_audit(host)
    alice = await _member(host)
    started, csrf = await pending_code(client, alice)
    healthy = runtime.store
    runtime.store = interleaved(runtime, host, fail_cas="before", fail_reads=True)
    response = await decide(client, csrf, started["user_code"])
    assert response.json() == {"error": "approval_outcome_unknown"}
    runtime.store = healthy
    assert (await poll(client, started["device_code"])).json() == {"error": "authorization_pending"}
    (row,) = await live_rows(host)
    assert row.delivered_at is None
    assert await revoke_undelivered_tokens({"host": host}) == 0  # a poll may still come
    now = runtime.clock()
    runtime.clock = lambda: now + UNDELIVERED_GRACE.total_seconds() + 1
    assert await revoke_undelivered_tokens({"host": host}) == 1
    assert await live_rows(host) == []
    assert recorder.named("oauth.token_revoked") == [{"token_id": str(row.id), "reason": "never_delivered"}]


async def test_concurrent_rotations_keep_one_live_row(host):
    """Ten rotations of one device at once leave exactly one live row, with the same id throughout."""
    alice = await _member(host)
    repo = TokenRepository(host.session_maker, host.reads)
    now = datetime.datetime.now(datetime.UTC)

    async def rotate(index):
        return await repo.mint(
            prefix="dfoa_",
            token_hash=f"{index:064x}",
            subject_email=alice.email,
            subject_issuer="dify:account",
            account_id=alice.account.id,
            client_id="difyctl",
            device_label="one box",
            now=now,
            expires_at=now + datetime.timedelta(days=1),
        )

    minted = await asyncio.gather(*(rotate(index) for index in range(10)))
    rows = await live_rows(host)
    assert len(rows) == 1
    assert {m.token_id for m in minted} == {rows[0].id}
    assert sum(1 for m in minted if m.predecessor is None) == 1


async def test_sequential_relogin_rotates_in_place(client, host):
    """Logging in again from the same device keeps the row id and kills the old token at once."""
    recorder = record_audit(host)
    alice = await _member(host)
    first = await device_login(client, alice)
    assert (await client.get("/openapi/v1/account", headers=bearer(first["token"]))).status_code == 200
    second = await device_login(client, alice)
    assert second["token_id"] == first["token_id"] and second["token"] != first["token"]
    response = await client.get("/openapi/v1/account", headers=bearer(first["token"]))
    assert response.status_code == 401
    assert (await client.get("/openapi/v1/account", headers=bearer(second["token"]))).status_code == 200
    assert len(recorder.named("oauth.token_rotated")) == 1
    other = await device_login(client, alice, label="difyctl on other-host")
    assert other["token_id"] != first["token_id"]
    assert len(await live_rows(host)) == 2


async def test_service_is_used_directly(host):
    """The approval service refuses an unknown code with expired_or_unknown."""
    from core.services import DeviceApprovalError
    from plugins.oauth_device.runtime import runtime_of

    service = DeviceApprovalService(runtime_of(host))
    try:
        await service.approve_external("ABCD-EFGH", subject_email="a@b.c", subject_issuer="https://idp")
    except DeviceApprovalError as exc:
        assert (exc.code, exc.status) == ("expired_or_unknown", 404)
    else:
        raise AssertionError("expected DeviceApprovalError")
