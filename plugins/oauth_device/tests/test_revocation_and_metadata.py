"""Beyond Dify: RFC 7009 revocation and RFC 8414 metadata advertising the device endpoint."""

from __future__ import annotations

from core.testing import factories
from tests.support.tokens import bearer

from .helpers import device_login, insert_external_token, live_rows, record_audit

REVOKE = "/openapi/v1/oauth/revoke"


async def test_revoke_kills_the_token_immediately(client, host):
    """A form-encoded RFC 7009 request revokes the token; it fails on its next use even if cached."""
    recorder = record_audit(host)
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    login = await device_login(client, alice)
    assert (await client.get("/openapi/v1/account", headers=bearer(login["token"]))).status_code == 200
    response = await client.post(REVOKE, data={"token": login["token"], "token_type_hint": "access_token"})
    assert response.status_code == 200
    assert (await client.get("/openapi/v1/account", headers=bearer(login["token"]))).status_code == 401
    assert await live_rows(host) == []
    assert recorder.named("oauth.token_revoked")[0]["token_id"] == login["token_id"]


async def test_revoke_accepts_json_and_external_tokens(client, host):
    """JSON bodies work too, for dfoe_ tokens as well."""
    token, _ = await insert_external_token(host)
    assert (await client.post(REVOKE, json={"token": token})).status_code == 200
    assert await live_rows(host) == []


async def test_revoke_unknown_or_foreign_token_is_still_200(client):
    """Unknown, already revoked or foreign tokens answer 200 (RFC 7009 §2.2)."""
    for token in ("dfoa_" + "B" * 43, "app-xyz", "whatever"):
        assert (await client.post(REVOKE, data={"token": token})).status_code == 200


async def test_revoke_without_token_is_invalid_request(client):
    """A request without a token is malformed: 400 {"error": "invalid_request"}."""
    response = await client.post(REVOKE, data={"token_type_hint": "access_token"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request"}


async def test_metadata_advertises_the_device_flow(client):
    """/.well-known/oauth-authorization-server names the device, token and revocation endpoints."""
    body = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert body["issuer"] == "http://testserver.local"
    assert body["device_authorization_endpoint"] == "http://testserver.local/openapi/v1/oauth/device/code"
    assert body["token_endpoint"] == "http://testserver.local/openapi/v1/oauth/device/token"
    assert body["revocation_endpoint"] == "http://testserver.local/openapi/v1/oauth/revoke"
    assert body["grant_types_supported"] == ["urn:ietf:params:oauth:grant-type:device_code"]
