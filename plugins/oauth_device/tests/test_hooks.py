"""The hooks this plugin implements, exercised through the host (one test per hook it provides)."""

from __future__ import annotations

from core.auth.bearer import hash_token
from core.auth.subject import ACCOUNT, EXTERNAL_SSO
from core.services import DeviceApprovals
from core.testing import factories
from tests.support.tokens import bearer

from .helpers import (
    DEVICE,
    decide,
    device_login,
    insert_external_token,
    pending_code,
    poll,
    record_audit,
    start_device_code,
)


async def test_hook_bearer_authenticators(client, host):
    """The plugin resolves dfoa_ and dfoe_ through the hook and says where each belongs."""
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    login = await device_login(client, alice)
    authenticators = {a.prefix: a for a in host.plugins.hook.bearer_authenticators(ctx=host)[0]}
    assert sorted(authenticators) == ["dfoa_", "dfoe_"]
    account = authenticators["dfoa_"]
    assert account.canonical_surface == "/openapi/v1/apps" and "difyctl auth login" in account.expired_hint
    record = await account.resolve(hash_token(login["token"]))
    assert record.kind == ACCOUNT and record.scopes == ["full"] and record.token_id == login["token_id"]
    assert record.account_id == alice.id and record.subject_issuer == "dify:account"
    assert isinstance(record.expires_at, float)
    external = authenticators["dfoe_"]
    assert external.canonical_surface == "/openapi/v1/permitted-external-apps"
    token, _token_id = await insert_external_token(host)
    record = await external.resolve(hash_token(token))
    assert record.kind == EXTERNAL_SSO and record.account_id is None
    assert record.scopes == ["apps:run", "apps:read:permitted-external"]
    # Each authenticator only knows its own variant.
    assert await account.resolve(hash_token(token)) is None


async def test_hook_device_approvals(client, host):
    """The device_approvals service looks a code up and approves it for an external SSO subject."""
    service = host.plugins.hook.device_approvals(ctx=host)
    assert isinstance(service, DeviceApprovals)
    started = await start_device_code(client, label="difyctl on partner-laptop")
    pending = await service.lookup_pending(started["user_code"].lower())
    assert pending.client_id == "difyctl" and pending.device_label == "difyctl on partner-laptop"
    assert 0 < pending.expires_in_remaining <= 900
    outcome = await service.approve_external(
        started["user_code"], subject_email="sso@partner.com", subject_issuer="https://idp.partner.com"
    )
    assert await service.lookup_pending(started["user_code"]) is None
    payload = (await poll(client, started["device_code"])).json()
    assert payload["token"].startswith("dfoe_") and payload["token_id"] == outcome.token_id
    assert "account" not in payload  # difyctl 0.1.0-rc.1 crashes on "account": null
    assert payload["subject_type"] == "external_sso" and payload["workspaces"] == []
    assert payload["default_workspace_id"] is None and payload["subject_issuer"] == "https://idp.partner.com"
    body = (await client.get("/openapi/v1/account", headers=bearer(payload["token"]))).json()
    assert body["subject_type"] == "external_sso" and body["subject_email"] == "sso@partner.com"


async def test_external_approval_needs_an_issuer(client, host):
    """approve_external refuses a blank issuer (mint policy) and leaves the code pending."""
    from core.services import DeviceApprovalError

    service = host.plugins.hook.device_approvals(ctx=host)
    started = await start_device_code(client)
    try:
        await service.approve_external(started["user_code"], subject_email="x@y.z", subject_issuer=" ")
    except DeviceApprovalError as exc:
        assert exc.code == "mint_policy_violation" and exc.status == 400
    assert await service.lookup_pending(started["user_code"]) is not None


async def test_hook_audit_event(client, host):
    """Approve, mint, deny, revoke and poll reach audit listeners, never with a token or its hash."""
    recorder = record_audit(host)
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    login = await device_login(client, alice)
    started, csrf = await pending_code(client, alice, label="denied box")
    await decide(client, csrf, started["user_code"], "deny")
    await client.delete("/openapi/v1/account/sessions/self", headers=bearer(login["token"]))
    names = {event.name for event in recorder.events}
    assert {
        "oauth.device_flow_approved",
        "oauth.token_minted",
        "oauth.device_flow_denied",
        "oauth.token_revoked",
    } <= names
    text = repr([event.fields for event in recorder.events])
    assert login["token"] not in text and hash_token(login["token"]) not in text
    assert f"{DEVICE}" not in text
