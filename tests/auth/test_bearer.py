"""The bearer pipeline every plugin shares, driven through a probe plugin's routes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event

from core.auth import ACCOUNT, EXTERNAL_SSO, hash_token
from core.auth.bearer import BEARER_DISABLED, CACHE_PREFIX, forget_token
from core.testing import factories
from tests.auth.bearer_probe import EXPIRED_HINT, Clock, bearer, running

CHALLENGE = 'Bearer realm="api"'


async def call(run, token: str, path: str = "/openapi/v1/probe/any"):
    return await run.client.get(path, headers=bearer(token))


def assert_401(response, message: str, code: str = "unauthorized") -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    body = response.json()
    assert body["code"] == code and body["message"] == message and body["status"] == 401


async def test_authenticator_resolves_the_subject_the_route_sees(make_settings):
    """A plugin's authenticator resolves tokens of its prefix into the subject the route sees."""
    async with running(make_settings) as run:
        token = run.probe.mint(ACCOUNT)
        response = await call(run, token)
        assert response.status_code == 200
        record = next(iter(run.probe.records.values()))
        assert response.json() == {
            "kind": "account",
            "account_id": record.account_id,
            "token_id": record.token_id,
            "scopes": ["full"],
        }
        external = run.probe.mint(EXTERNAL_SSO)
        response = await call(run, external)
        assert response.json()["kind"] == "external_sso" and response.json()["account_id"] is None


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic dfoa_abc", "Bearer", "Bearer    ", "Token dfoa_abc", "dfoa_abc", "Bearerdfoa_abc"],
)
async def test_missing_or_malformed_header_is_401(make_settings, header):
    """No header, another scheme or an empty value answers 401 missing bearer token with the challenge."""
    async with running(make_settings) as run:
        headers = {} if header is None else {"Authorization": header}
        response = await run.client.get("/openapi/v1/probe/any", headers=headers)
        assert_401(response, "missing bearer token")


async def test_scheme_is_case_insensitive_and_value_trimmed(make_settings):
    """``bEaReR`` works and whitespace around the token is ignored."""
    async with running(make_settings) as run:
        token = run.probe.mint(ACCOUNT)
        headers = {"Authorization": f"bEaReR   {token}  "}
        response = await run.client.get("/openapi/v1/probe/any", headers=headers)
        assert response.status_code == 200


@pytest.mark.parametrize("token", ["dfp_abcdef", "app-abcdef", "random", "zzz_abcdef", "_abc"])
async def test_unknown_prefix_is_401(make_settings, token):
    """A prefix no plugin resolves answers 401 unknown token prefix."""
    async with running(make_settings) as run:
        response = await call(run, token)
        assert_401(response, "unknown token prefix")


async def test_unknown_token_is_cached_negatively(make_settings):
    """An unknown token answers 401 and is remembered for the negative TTL without asking the plugin again."""
    async with running(make_settings) as run:
        token = "dfoa_" + "x" * 43
        assert_401(await call(run, token), "token unknown or revoked")
        assert run.probe.resolve_calls() == 1
        assert 0 < await run.ctx.state.ttl(CACHE_PREFIX + hash_token(token)) <= 10
        # The token appears in storage, but the negative answer still stands for up to 10 s.
        run.probe.records.clear()
        assert_401(await call(run, token), "token unknown or revoked")
        assert run.probe.resolve_calls() == 1


async def test_negative_cache_expires(make_settings):
    """After the negative TTL the plugin is asked again, so a token minted meanwhile starts working."""
    async with running(make_settings, **{"bearer.negative_cache_seconds": 1}) as run:
        token = run.probe.mint(ACCOUNT)
        record = run.probe.records.copy()
        run.probe.records.clear()
        assert (await call(run, token)).status_code == 401
        run.probe.records.update(record)
        await asyncio.sleep(1.2)
        assert (await call(run, token)).status_code == 200
        assert run.probe.resolve_calls() == 2


async def test_cache_hit_does_no_resolve_and_no_sql(make_settings):
    """The second request with a token is answered from the cache: no plugin call, no SQL statement."""
    async with running(make_settings) as run:
        person = await factories.person(run.ctx, "cache@example.com")
        token = run.probe.mint(ACCOUNT, account_id=person.id)
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(run.ctx.engine.sync_engine, "before_cursor_execute", count)
        try:
            assert (await call(run, token)).status_code == 200
            assert run.probe.resolve_calls() == 1
            assert 50 < await run.ctx.state.ttl(CACHE_PREFIX + hash_token(token)) <= 60
            assert statements, "the first resolution reads the memberships"
            statements.clear()
            for _ in range(3):
                assert (await call(run, token)).status_code == 200
            assert run.probe.resolve_calls() == 1
            assert statements == []
        finally:
            event.remove(run.ctx.engine.sync_engine, "before_cursor_execute", count)


async def test_forget_token_ends_a_cached_session(make_settings):
    """A revoke that forgets the cache entry takes effect on the very next request."""
    async with running(make_settings) as run:
        token = run.probe.mint(ACCOUNT)
        assert (await call(run, token)).status_code == 200
        run.probe.revoke(token)
        # Still cached: revocation without forgetting is only seen after the positive TTL.
        assert (await call(run, token)).status_code == 200
        await forget_token(run.ctx.state, hash_token(token))
        assert_401(await call(run, token), "token unknown or revoked")


async def test_expiry_is_checked_on_cache_hits(make_settings):
    """A cached token that expires answers token_expired with a hint, and is hard-expired exactly once."""
    async with running(make_settings) as run:
        clock = Clock()
        run.use_clock(clock)
        token = run.probe.mint(ACCOUNT, expires_in=30, now=clock.now)
        assert (await call(run, token)).status_code == 200
        clock.now += 31
        for _ in range(2):
            response = await call(run, token)
            assert_401(response, "Bearer token has expired.", code="token_expired")
            assert response.json()["hint"] == EXPIRED_HINT  # the authenticator's own words
        assert run.probe.resolve_calls() == 1
        assert len(run.probe.expire_calls()) == 1


async def test_expired_token_on_resolution(make_settings):
    """A token already expired when first seen answers token_expired and is hard-expired once."""
    async with running(make_settings) as run:
        token = run.probe.mint(ACCOUNT, expires_in=-5)
        for _ in range(2):
            response = await call(run, token)
            assert_401(response, "Bearer token has expired.", code="token_expired")
        assert len(run.probe.expire_calls()) == 1


async def test_rejected_tokens_are_audited(make_settings):
    """A presented token that does not authenticate is an audit event with its reason, the path and
    the client IP (an unknown prefix, an unknown or revoked token, an expired one), once per reason
    and address per minute, so a flood of junk tokens cannot flood the audit log. Neither the token
    nor its hash appears; a missing header is no event."""
    async with running(make_settings) as run:
        expired = run.probe.mint(ACCOUNT, expires_in=-5)
        unknown = "dfoa_" + "x" * 43
        for token in ("zzz_abc", unknown, unknown, expired):
            assert (await call(run, token)).status_code == 401
        assert (await run.client.get("/openapi/v1/probe/any")).status_code == 401
        rejected = [e.fields for e in run.probe.audit if e.name == "auth.token_rejected"]
        # The second unknown token from the same address within the minute is counted, not audited.
        assert [f["reason"] for f in rejected] == ["unknown_prefix", "unknown_or_revoked", "expired"]
        assert all(f["path"] == "/openapi/v1/probe/any" and f["ip"] == "127.0.0.1" for f in rejected)
        for secret in (unknown, expired, hash_token(unknown), hash_token(expired)):
            assert secret not in str(run.probe.audit)


async def test_an_address_that_presents_too_many_bad_tokens_is_locked_out(make_settings):
    """Past bearer.rejected_limit_per_ip rejections in a minute, the address's unknown tokens answer
    429 without a lookup (audited once); a token already in the cache still works."""
    async with running(make_settings, **{"bearer.rejected_limit_per_ip": 3}) as run:
        good = run.probe.mint(ACCOUNT)
        assert (await call(run, good)).status_code == 200  # cached now
        for index in range(4):
            assert (await call(run, f"dfoa_{'x' * 40}{index}")).status_code == 401
        lookups = run.probe.resolve_calls()
        locked = await call(run, "dfoa_" + "y" * 43)
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
        assert run.probe.resolve_calls() == lookups  # refused before any lookup
        assert (await call(run, good)).status_code == 200
        events = [e.fields for e in run.probe.audit if e.name == "auth.address_locked_out"]
        assert events == [{"ip": "127.0.0.1", "rejected": 4}]


async def test_inconsistent_record_is_refused(make_settings):
    """An account token without an account (a storage bug) is answered like an unknown token."""
    async with running(make_settings) as run:
        token = run.probe.mint(ACCOUNT)
        record = next(iter(run.probe.records.values()))
        record.account_id = None
        assert_401(await call(run, token), "token unknown or revoked")


async def test_membership_snapshot(make_settings):
    """A member reads their workspace with their role; any other id answers 404 workspace not found."""
    async with running(make_settings) as run:
        alice = await factories.person(run.ctx, "member@example.com")
        bob = await factories.person(run.ctx, "other@example.com", "Bob")
        mine = await factories.workspace(run.ctx, "Mine", (alice, "owner"))
        theirs = await factories.workspace(run.ctx, "Theirs", (bob, "owner"))
        token = run.probe.mint(ACCOUNT, account_id=alice.id)
        response = await call(run, token, f"/openapi/v1/probe/workspaces/{mine.id}")
        assert response.status_code == 200 and response.json() == {"role": "owner"}
        for workspace_id in (theirs.id, "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
            response = await call(run, token, f"/openapi/v1/probe/workspaces/{workspace_id}")
            assert response.status_code == 404
            assert response.json() == {"code": "not_found", "message": "workspace not found", "status": 404}


async def test_wrong_surface_is_403_and_audited(make_settings):
    """Each subject kind is refused on the other's surface, told the canonical path its authenticator
    declares, and audited."""
    async with running(make_settings) as run:
        external = run.probe.mint(EXTERNAL_SSO)
        response = await call(run, external, "/openapi/v1/probe/apps")
        assert response.status_code == 403
        assert response.json() == {
            "code": "forbidden",
            "message": "wrong_surface (canonical: /openapi/v1/probe/external)",
            "status": 403,
        }
        account = run.probe.mint(ACCOUNT)
        response = await call(run, account, "/openapi/v1/probe/external")
        assert response.status_code == 403
        assert response.json()["message"] == "wrong_surface (canonical: /openapi/v1/probe/apps)"
        denied = [e for e in run.probe.audit if e.name == "openapi.wrong_surface_denied"]
        assert [e.fields["subject_type"] for e in denied] == ["external_sso", "account"]
        assert denied[0].fields["attempted_path"] == "/openapi/v1/probe/apps"
        assert denied[0].fields["client_id"] == "difyctl"
        records = list(run.probe.records.values())
        assert denied[0].fields["token_id"] == records[0].token_id
        assert external not in str(denied) and account not in str(denied)


async def test_insufficient_scope_is_403(make_settings):
    """A token without the route's scope gets 403 insufficient_scope: <scope>; full covers it."""
    async with running(make_settings) as run:
        narrow = run.probe.mint(ACCOUNT, scopes=["apps:run"])
        response = await call(run, narrow, "/openapi/v1/probe/apps")
        assert response.status_code == 403
        expected = {"code": "forbidden", "message": "insufficient_scope: apps:read", "status": 403}
        assert response.json() == expected
        exact = run.probe.mint(ACCOUNT, scopes=["apps:read"])
        assert (await call(run, exact, "/openapi/v1/probe/apps")).status_code == 200
        full = run.probe.mint(ACCOUNT)
        assert (await call(run, full, "/openapi/v1/probe/apps")).status_code == 200
        external = run.probe.mint(EXTERNAL_SSO, scopes=["apps:run"])
        response = await call(run, external, "/openapi/v1/probe/external")
        assert response.json()["message"] == "insufficient_scope: apps:read:permitted-external"


async def test_kill_switch_answers_503_after_the_missing_token_check(make_settings):
    """With ENABLE_OAUTH_BEARER off a token gets 503 bearer_auth_disabled; no token still gets 401."""
    async with running(make_settings, **{"bearer.enabled": False}) as run:
        token = run.probe.mint(ACCOUNT)
        response = await call(run, token)
        assert response.status_code == 503
        assert response.json() == {"code": "service_unavailable", "message": BEARER_DISABLED, "status": 503}
        assert run.probe.resolve_calls() == 0
        assert_401(await run.client.get("/openapi/v1/probe/any"), "missing bearer token")


async def test_per_token_rate_limit(make_settings):
    """Past the limit a token gets 429 ErrorBody with Retry-After; other tokens go on."""
    async with running(make_settings, **{"bearer.rate_limit_per_token": 3}) as run:
        token, other = run.probe.mint(ACCOUNT), run.probe.mint(ACCOUNT)
        for _ in range(3):
            assert (await call(run, token)).status_code == 200
        response = await call(run, token)
        assert response.status_code == 429
        body = response.json()
        assert (body["code"], body["message"], body["status"]) == ("too_many_requests", "rate_limited", 429)
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert body["details"]["retry_after_ms"] >= 1
        assert (await call(run, other)).status_code == 200


async def test_invalid_tokens_do_not_use_the_bucket(make_settings):
    """Unknown tokens are refused before the limiter, so they never count against anyone."""
    async with running(make_settings, **{"bearer.rate_limit_per_token": 1}) as run:
        for _ in range(3):
            response = await call(run, "dfoa_unknown_token_value")
            assert response.status_code == 401


async def test_rate_limit_zero_disables(make_settings):
    """OPENAPI_RATE_LIMIT_PER_TOKEN=0 turns the per-token limiter off."""
    async with running(make_settings, **{"bearer.rate_limit_per_token": 0}) as run:
        token = run.probe.mint(ACCOUNT)
        for _ in range(70):
            assert (await call(run, token)).status_code == 200


async def test_rate_limit_is_shared_across_replicas(make_settings, backend):
    """Two app instances on Redis with one key prefix share a token's bucket."""
    if backend != "postgres":
        pytest.skip("replicas share state only through Redis (the postgres backend)")
    settings = make_settings(**{"bearer.rate_limit_per_token": 4})
    prefix = settings.state.key_prefix
    overrides = {"bearer.rate_limit_per_token": 4, "state.key_prefix": prefix}
    async with running(make_settings, **overrides) as first, running(make_settings, **overrides) as second:
        token = first.probe.mint(ACCOUNT)
        second.probe.records.update(first.probe.records)
        statuses = []
        for replica in (first, second, first, second, first, second):
            statuses.append((await call(replica, token)).status_code)
        assert statuses == [200, 200, 200, 200, 429, 429]
        # The auth cache is shared too: the second replica never asked its plugin.
        assert second.probe.resolve_calls() == 0
