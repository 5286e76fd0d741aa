"""Every auth failure row of spec §2.13 on every route of this plugin, the gate order of §2.14, and
the cross-workspace isolation matrix."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plugins.openapi_apps.tests.conftest import UA, headers, server_with, token_headers, token_of
from plugins.openapi_apps.tests.wire_schemas import assert_error
from plugins.openapi_apps.tests.world import World, random_uuid

Route = Callable[[World], str]

# Routes as a path built from the world: each points at something alice must not see, so that a
# request that gets past authentication is also refused for isolation (the matrix below).
FOREIGN_ROUTES: dict[str, Route] = {
    "workspaces": lambda w: "/openapi/v1/workspaces",
    "workspace": lambda w: f"/openapi/v1/workspaces/{w.bobs.id}",
    "apps": lambda w: f"/openapi/v1/apps?workspace_id={w.bobs.id}",
    "describe": lambda w: f"/openapi/v1/apps/{w.id('Bob Bot')}/describe",
    "describe-new-path": lambda w: f"/openapi/v1/apps/{w.id('Bob Bot')}",
    "describe-by-name": lambda w: f"/openapi/v1/apps/Bob%20Bot/describe?workspace_id={w.bobs.id}",
}
ROUTE_IDS = list(FOREIGN_ROUTES)
WRONG_SURFACE = "wrong_surface (canonical: /openapi/v1/permitted-external-apps)"


# -- A1-A4: the bearer itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic YWxpY2U6cHc=", "Bearer", "Bearer    ", "dfoa_abc"],
    ids=["absent", "basic", "no-value", "blank-value", "no-scheme"],
)
async def test_a1_missing_bearer_is_401(client, world, authorization):
    """A1: no usable bearer -> 401 unauthorized / missing bearer token, with WWW-Authenticate."""
    sent = {"User-Agent": UA} | ({"Authorization": authorization} if authorization else {})
    for route in FOREIGN_ROUTES.values():
        response = await client.get(route(world), headers=sent)
        assert_error(response, 401, "unauthorized", "missing bearer token")
        assert response.headers["www-authenticate"] == 'Bearer realm="api"'


async def test_a2_unknown_prefix_is_401(client, world):
    """A2: a prefix no plugin resolves -> 401 unknown token prefix."""
    for token in ("dfp_abcdef", "app-abcdef", "randomtoken"):
        for route in FOREIGN_ROUTES.values():
            response = await client.get(route(world), headers=headers(token))
            assert_error(response, 401, "unauthorized", "unknown token prefix")
            assert response.headers["www-authenticate"] == 'Bearer realm="api"'


async def test_a3_unknown_token_is_401(client, world):
    """A3: a well-formed dfoa_ token nobody minted -> 401 token unknown or revoked."""
    for route in FOREIGN_ROUTES.values():
        response = await client.get(route(world), headers=headers("dfoa_" + "x" * 43))
        assert_error(response, 401, "unauthorized", "token unknown or revoked")


async def test_a3_revoked_token_is_401_everywhere(client, host, token_issuer, world, alice):
    """A3: once the token is revoked (as `difyctl auth logout` does) it opens nothing."""
    assert (await client.get("/openapi/v1/workspaces", headers=alice)).status_code == 200
    await token_issuer.revoke(host, token_of(alice))
    for route in FOREIGN_ROUTES.values():
        response = await client.get(route(world), headers=alice)
        assert_error(response, 401, "unauthorized", "token unknown or revoked")


async def test_a4_expired_token_is_401_token_expired(client, host, token_issuer, world, alice):
    """A4: an expired token -> 401 token_expired with a hint to log in again, on every route."""
    assert (await client.get("/openapi/v1/workspaces", headers=alice)).status_code == 200
    await token_issuer.expire(host, token_of(alice))
    for route in FOREIGN_ROUTES.values():
        body = assert_error(await client.get(route(world), headers=alice), 401, "token_expired")
        assert "difyctl auth login" in body["hint"]


# -- A5-A6: the bearer subsystem ------------------------------------------------------------------------


async def test_a5_bearer_disabled_is_503(make_settings, probe_plugins, host, world):
    """A5: with ENABLE_OAUTH_BEARER off every route answers 503 (a missing header still 401)."""
    async with server_with(make_settings, probe_plugins, **{"bearer.enabled": False}) as http:
        for route in FOREIGN_ROUTES.values():
            response = await http.get(route(world), headers=headers("dfoa_" + "x" * 43))
            body = assert_error(response, 503, "service_unavailable")
            assert body["message"].startswith("bearer_auth_disabled")
        assert_error(await http.get("/openapi/v1/workspaces"), 401, "unauthorized")


async def test_a6_per_token_rate_limit_is_429(make_settings, probe_plugins, host, world):
    """A6: past the per-token limit -> 429 too_many_requests with Retry-After >= 1."""
    async with server_with(make_settings, probe_plugins, **{"bearer.rate_limit_per_token": 2}) as http:
        sent = await token_headers(http, world.alice)
        for _ in range(2):
            assert (await http.get("/openapi/v1/workspaces", headers=sent)).status_code == 200
        response = await http.get(f"/openapi/v1/apps?workspace_id={world.acme.id}", headers=sent)
        assert_error(response, 429, "too_many_requests")
        assert int(response.headers["retry-after"]) >= 1


# -- A7-A9: surface, scope, membership ------------------------------------------------------------------


async def test_a7_external_sso_subject_is_wrong_surface(client, token_issuer, world):
    """A7: a dfoe_ token on the account surface -> 403 wrong_surface naming its own surface."""
    token = token_issuer.external_token()
    for route in FOREIGN_ROUTES.values():
        response = await client.get(route(world), headers=headers(token))
        assert_error(response, 403, "forbidden", WRONG_SURFACE)


async def test_a8_missing_scope_is_403_on_app_routes_only(client, host, token_issuer, world):
    """A8: an account token without apps:read -> 403 insufficient_scope on /apps*, /workspaces still open."""
    token = await token_issuer.account_token(host, world.alice.id, scopes=["apps:run"])
    app_routes = [
        f"/openapi/v1/apps?workspace_id={world.acme.id}",
        f"/openapi/v1/apps/{world.id('Greeter')}/describe",
        f"/openapi/v1/apps/{world.id('Greeter')}",
    ]
    for path in app_routes:
        response = await client.get(path, headers=headers(token))
        assert_error(response, 403, "forbidden", "insufficient_scope: apps:read")
    assert (await client.get("/openapi/v1/workspaces", headers=headers(token))).status_code == 200


async def test_a9_non_member_gets_404_never_403(client, world, alice):
    """A9: a workspace the caller is not in answers 404 workspace not found (ids don't leak)."""
    for path in (f"/openapi/v1/apps?workspace_id={world.bobs.id}", f"/openapi/v1/workspaces/{world.bobs.id}",
                 f"/openapi/v1/apps?workspace_id={random_uuid()}"):
        assert_error(await client.get(path, headers=alice), 404, "not_found", "workspace not found")


# -- gate order (§2.14) ---------------------------------------------------------------------------------


async def test_gate_order_bearer_before_validation(client, world):
    """An invalid query without a token is a 401, not a 422."""
    response = await client.get("/openapi/v1/apps?page=0", headers={"User-Agent": UA})
    assert_error(response, 401, "unauthorized")


async def test_gate_order_surface_before_validation(client, token_issuer, world):
    """An invalid query with a dfoe_ token is a 403 wrong_surface, not a 422."""
    token = token_issuer.external_token()
    response = await client.get("/openapi/v1/apps/x/describe?bogus=1", headers=headers(token))
    assert_error(response, 403, "forbidden")


async def test_gate_order_scope_before_validation(client, host, token_issuer, world):
    """An invalid query with a narrow-scope token is a 403 insufficient_scope, not a 422."""
    token = await token_issuer.account_token(host, world.alice.id, scopes=["apps:run"])
    response = await client.get("/openapi/v1/apps?limit=0", headers=headers(token))
    assert_error(response, 403, "forbidden", "insufficient_scope: apps:read")


async def test_gate_order_validation_before_membership(client, world, alice):
    """A bad query on a foreign workspace is a 422: validation comes before the membership check."""
    response = await client.get(f"/openapi/v1/apps?workspace_id={world.bobs.id}&limit=500", headers=alice)
    assert_error(response, 422, "invalid_param")


# -- isolation matrix -----------------------------------------------------------------------------------

OTHER_WORKSPACE_EXPECTED = {
    "workspace": (404, "not_found", "workspace not found"),
    "apps": (404, "not_found", "workspace not found"),
    "describe": (404, "not_found", "app not found"),
    "describe-new-path": (404, "not_found", "app not found"),
    "describe-by-name": (404, "not_found", "workspace not found"),
}


async def test_isolation_other_workspace(client, world, alice):
    """Alice, fully authenticated, cannot see anything of Bob's workspace."""
    for route, (status, code, message) in OTHER_WORKSPACE_EXPECTED.items():
        response = await client.get(FOREIGN_ROUTES[route](world), headers=alice)
        assert_error(response, status, code, message)


async def test_isolation_workspace_list_and_api_disabled_foreign_app(client, world, alice):
    """Bob's workspace is not listed for Alice, and his API-disabled app is a 404, not a 403."""
    listed = (await client.get("/openapi/v1/workspaces", headers=alice)).json()["workspaces"]
    assert str(world.bobs.id) not in {row["id"] for row in listed}
    response = await client.get(f"/openapi/v1/apps/{world.id('Bob Hidden')}/describe", headers=alice)
    assert_error(response, 404, "not_found", "app not found")


async def test_isolation_same_route_works_for_the_owner(client, world):
    """The same foreign routes answer 200 for Bob, so the 404s above are about Alice, not the data."""
    bob = await token_headers(client, world.bob)
    for route in ROUTE_IDS:
        response = await client.get(FOREIGN_ROUTES[route](world), headers=bob)
        assert response.status_code == 200, (route, response.text)


async def test_membership_removed_takes_effect_at_once_for_a_cached_token(client, host, world):
    """A member removed from a workspace stops seeing it on the very next request, although the
    token and its membership snapshot are in the auth cache: the change moves the membership
    generation, which every replica reads with the cache entry. A role change does the same. (The
    suite runs with the 1 s per-process near cache off; with it on, another replica may answer from
    it for up to that second, as documented.)"""
    from core.domain import services

    bob = await token_headers(client, world.bob)
    apps = f"/openapi/v1/apps?workspace_id={world.shared.id}"
    assert (await client.get(apps, headers=bob)).status_code == 200  # the snapshot is now cached
    async with host.session() as session:
        await services.set_member_role(session, world.shared.id, world.bob.account.id, "admin")
    roles = (await client.get("/openapi/v1/workspaces", headers=bob)).json()["workspaces"]
    assert {w["id"]: w["role"] for w in roles}[str(world.shared.id)] == "admin"
    async with host.session() as session:
        await services.remove_member(session, world.shared.id, world.bob.account.id)
    assert_error(await client.get(apps, headers=bob), 404, "not_found", "workspace not found")
    workspaces = (await client.get("/openapi/v1/workspaces", headers=bob)).json()["workspaces"]
    assert str(world.shared.id) not in {w["id"] for w in workspaces}


async def test_membership_removed_takes_effect_with_a_new_token(client, host, world):
    """A member removed from a workspace loses it on the next token resolution."""
    from sqlalchemy import delete

    from core.domain.models import Membership

    async with host.session() as session:
        await session.execute(
            delete(Membership).where(Membership.tenant_id == world.shared.id,
                                     Membership.account_id == world.bob.account.id)
        )
    bob = await token_headers(client, world.bob)
    response = await client.get(f"/openapi/v1/apps?workspace_id={world.shared.id}", headers=bob)
    assert_error(response, 404, "not_found", "workspace not found")
