"""``difyd tokens``: an administrator's view of an account's difyctl sign-ins, and the way to end them
(a stolen laptop: `difyd tokens revoke --email ... --all`)."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import click

from core.api import AuditEvent, HostContext, parse_uuid, run_with_host
from core.auth.bearer import forget_token
from plugins.oauth_device.runtime import runtime_of


async def _account_id(ctx: HostContext, email: str) -> uuid.UUID:
    from core.domain import services

    async with ctx.session() as session:
        account = await services.account_by_email(session, email)
    if account is None:
        raise click.ClickException(f"no account with email {email.strip()!r}")
    return account.id


@click.group()
def tokens() -> None:
    """An account's difyctl tokens (device sign-ins): list them, revoke one or all."""


@tokens.command("list")
@click.option("--email", required=True, help="The account's email.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tokens_list(email: str, as_json: bool) -> None:
    """The account's live tokens: id, client, device label, created, last used, expires."""

    async def work(ctx: HostContext) -> list[dict[str, Any]]:
        rows = await runtime_of(ctx).tokens.of_account(await _account_id(ctx, email))
        return [
            {
                "id": str(row.id),
                "client_id": row.client_id,
                "device_label": row.device_label,
                "created_at": row.created_at.isoformat(),
                "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
                "expires_at": row.expires_at.isoformat(),
            }
            for row in rows
        ]

    found = run_with_host(work)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for token in found:
        used = token["last_used_at"] or "never"
        click.echo(f"{token['id']}  {token['client_id']}  {token['device_label']!r}  last used {used}")


@tokens.command("revoke")
@click.option("--email", required=True, help="The account's email.")
@click.option("--id", "token_ref", default=None, help="One token's id (from `difyd tokens list`).")
@click.option("--all", "revoke_all", is_flag=True, help="Every live token of the account.")
def tokens_revoke(email: str, token_ref: str | None, revoke_all: bool) -> None:
    """Revoke one token or all of an account's tokens: they stop working at once, on every replica."""
    if revoke_all == (token_ref is not None):
        raise click.UsageError("give either --id ID or --all")
    token_id = parse_uuid(token_ref) if token_ref is not None else None
    if token_ref is not None and token_id is None:
        raise click.ClickException(f"not a token id: {token_ref!r}")

    async def work(ctx: HostContext) -> int:
        now = datetime.datetime.fromtimestamp(ctx.clock(), datetime.UTC)
        revoked = await runtime_of(ctx).tokens.revoke_of_account(await _account_id(ctx, email), now, token_id)
        for revoked_id, old_hash in revoked:
            # Audited first: the revocation is durable whatever happens to the cache below.
            await ctx.audit(
                AuditEvent(
                    "oauth.token_revoked",
                    {"token_id": str(revoked_id), "revoked_by": "admin", "reason": "admin"},
                )
            )
            if old_hash:
                await forget_token(ctx.state, old_hash)
        return len(revoked)

    count = run_with_host(work)
    if token_ref is not None and count == 0:
        raise click.ClickException(f"<{email.strip()}> has no live token {token_ref}")
    click.echo(f"revoked {count} token(s) of <{email.strip()}>")
