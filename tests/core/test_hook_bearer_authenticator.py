"""bearer_authenticator / audit_event: a plugin resolves its token prefix; security events fan out."""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar import Request, get

from core.auth.bearer import hash_token
from core.auth.guards import bearer_guard, current_subject
from core.auth.subject import ACCOUNT, EXTERNAL_SSO, TokenRecord
from core.hookspecs import hookimpl
from tests.support.probes import probe_client, probe_host

GOOD = "dfpr_good-token"
SSO = "dfpr_sso-token"


@get("/probe/me", guards=[bearer_guard(accept=[ACCOUNT])])
async def me(request: Request) -> dict[str, Any]:
    subject = current_subject(request)
    return {"email": subject.subject_email, "kind": subject.kind, "scopes": sorted(subject.scopes)}


class ProbeAuthenticator:
    """Knows two tokens of prefix ``dfpr_``: an account token and an external-SSO one."""

    prefix = "dfpr_"

    def __init__(self) -> None:
        self.resolved: list[str] = []

    async def resolve(self, token_hash: str) -> TokenRecord | None:
        self.resolved.append(token_hash)
        kinds = {hash_token(GOOD): ACCOUNT, hash_token(SSO): EXTERNAL_SSO}
        if token_hash not in kinds:
            return None
        kind = kinds[token_hash]
        return TokenRecord(
            token_id="t-1", prefix=self.prefix, kind=kind, scopes=["full"],
            subject_email="probe@example.com", subject_issuer=None,
            account_id=str(uuid.uuid4()) if kind == ACCOUNT else None,
            client_id="difyctl", expires_at=time.time() + 3600,
        )

    async def expire(self, record: TokenRecord) -> None:
        """Nothing stored to revoke in this probe."""


class TokenProbe:
    def __init__(self) -> None:
        self.authenticator = ProbeAuthenticator()

    @hookimpl
    def bearer_authenticator(self, prefix: str) -> Any:
        return self.authenticator if prefix == self.authenticator.prefix else None

    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [me]


class AuditProbe:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @hookimpl
    def audit_event(self, ctx: Any, event: Any) -> Any:
        async def receive() -> None:
            self.events.append(event)

        return receive()


async def test_hook_bearer_authenticator(make_settings, backend):
    """Tokens with the plugin's prefix are resolved by its authenticator; the result is cached."""
    probe = TokenProbe()
    async with probe_host(make_settings, {"token_probe": probe}) as ctx, probe_client(ctx) as client:
        for _ in range(2):
            response = await client.get("/probe/me", headers={"Authorization": f"Bearer {GOOD}"})
            assert response.status_code == 200
            assert response.json() == {"email": "probe@example.com", "kind": "account", "scopes": ["full"]}
        assert probe.authenticator.resolved == [hash_token(GOOD)]  # second request: cache hit

        unknown = await client.get("/probe/me", headers={"Authorization": "Bearer dfpr_nobody"})
        assert unknown.status_code == 401
        assert unknown.json()["message"] == "token unknown or revoked"
        other_prefix = await client.get("/probe/me", headers={"Authorization": "Bearer dfzz_x"})
        assert other_prefix.status_code == 401  # no plugin claims dfzz_


async def test_hook_audit_event(make_settings, backend):
    """Every listening plugin receives the core's security events (here: a token on the wrong surface)."""
    audit = AuditProbe()
    probes = {"token_probe": TokenProbe(), "audit_probe": audit}
    async with probe_host(make_settings, probes) as ctx, probe_client(ctx) as client:
        response = await client.get("/probe/me", headers={"Authorization": f"Bearer {SSO}"})
        assert response.status_code == 403
        [event] = audit.events
        assert event.name == "openapi.wrong_surface_denied"
        assert event.fields["attempted_path"] == "/probe/me"
        assert event.fields["subject_type"] == EXTERNAL_SSO
        assert SSO not in repr(event) and hash_token(SSO) not in repr(event)  # never the token
