"""bearer_authenticators / audit_event: a plugin resolves its token prefix; security events fan out."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import pytest
import structlog
from litestar import Request, get

from core.app import build_context, build_plugins
from core.auth.bearer import hash_token
from core.auth.guards import bearer_guard, current_subject
from core.auth.subject import ACCOUNT, EXTERNAL_SSO, TokenRecord
from core.hookspecs import hookimpl
from core.logging import REDACTED, configure_logging
from core.settings import SettingsError
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
    canonical_surface = "/probe/elsewhere"
    expired_hint = None

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
    def bearer_authenticators(self) -> list[Any]:
        return [self.authenticator]

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


async def test_hook_bearer_authenticators(make_settings, backend):
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


async def test_wrong_surface_names_the_authenticators_canonical_surface(make_settings, backend):
    """A subject refused on a route is told the surface its authenticator declared for it."""
    async with probe_host(make_settings, {"token_probe": TokenProbe()}) as ctx, probe_client(ctx) as client:
        response = await client.get("/probe/me", headers={"Authorization": f"Bearer {SSO}"})
        assert response.status_code == 403
        assert response.json()["message"] == "wrong_surface (canonical: /probe/elsewhere)"


class Named:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.canonical_surface = "/x"
        self.expired_hint = None


class Claims:
    def __init__(self, *prefixes: str) -> None:
        self.prefixes = prefixes

    @hookimpl
    def bearer_authenticators(self) -> list[Any]:
        return [Named(prefix) for prefix in self.prefixes]


@pytest.mark.parametrize("prefix", ["dfpr", "DFPR_", "_x_", "a_", "averyveryverylongprefix_", "df pr_"])
def test_a_malformed_prefix_stops_startup(make_settings, prefix):
    """A prefix that is not 2-16 lower-case letters/digits and an underscore is refused at startup."""
    settings = make_settings(**{"plugins.enabled": ["claims"]})
    with pytest.raises(SettingsError, match=r"plugin 'claims' declares a bearer authenticator with prefix"):
        build_context(settings, build_plugins(settings, {"claims": Claims(prefix)}))


def test_one_prefix_claimed_twice_stops_startup(make_settings):
    """Two plugins cannot both answer for one prefix: startup names both."""
    settings = make_settings(**{"plugins.enabled": ["one", "two"]})
    plugins = build_plugins(settings, {"one": Claims("dfzz_"), "two": Claims("dfzz_")})
    with pytest.raises(SettingsError, match=r"plugins '(one|two)' and '(one|two)' both authenticate 'dfzz_'"):
        build_context(settings, plugins)


async def test_tokens_of_a_declared_prefix_are_masked_in_every_log_line(make_settings, capsys):
    """Once a host with the authenticator is built, its tokens are masked in any log text, from any
    logger, even a line that never passed through the bearer pipeline."""
    prefix = f"zq{uuid.uuid4().hex[:8]}_"  # a prefix no other test has declared in this process
    secret = prefix + "s3cr3t-value-of-the-token"
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("INFO", json=True)
    try:
        structlog.get_logger("difyd.test").warning("before", note=f"sent {secret}")
        async with probe_host(make_settings, {"claims": Claims(prefix)}):
            structlog.get_logger("difyd.test").warning("after", note=f"sent {secret}")
            logging.getLogger("somelib").warning("library line with %s", secret)
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    [before] = [line for line in lines if line["event"] == "before"]
    [after] = [line for line in lines if line["event"] == "after"]
    [library] = [line for line in lines if line.get("logger") == "somelib"]
    assert before["note"] == f"sent {secret}"  # not yet declared: what the redaction below prevents
    assert after["note"] == f"sent {prefix}{REDACTED}"
    assert library["event"] == f"library line with {prefix}{REDACTED}"
