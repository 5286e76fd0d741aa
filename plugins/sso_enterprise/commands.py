"""``difyd license``: make an issuer key pair, issue a license, show the configured license's status."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import click

from core.api import HostContext, run_with_host
from plugins.sso_enterprise.license import issue, new_key_pair, read_license
from plugins.sso_enterprise.settings import SsoEnterpriseSettings

NAME = "sso_enterprise"


@click.group(name="license")
def license_group() -> None:
    """The enterprise license (sso_enterprise)."""


@license_group.command("keygen")
@click.option(
    "--private-key",
    "private_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Where to write the issuer's private key (PEM, mode 0600). Keep it off the servers.",
)
@click.option(
    "--public-key",
    "public_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Where to write the public key the servers check licenses with (PEM).",
)
def license_keygen(private_path: Path, public_path: Path) -> None:
    """Make an Ed25519 key pair for issuing licenses (for operators who run their own licensing)."""
    for path in (private_path, public_path):
        if path.exists():
            raise click.ClickException(f"{path} exists: refusing to overwrite a key")
    private_pem, public_pem = new_key_pair()
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(private_pem)
    public_path.write_text(public_pem)
    click.echo(
        f"private key: {private_path} (keep it secret)\npublic key: {public_path} (set public_key_file)"
    )


@license_group.command("issue")
@click.option("--private-key", "private_path", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--licensee", required=True, help="Who the license is for.")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Valid for this many days from now.")
@click.option(
    "--expires", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Or valid until this date (UTC)."
)
@click.option("--feature", "features", multiple=True, help="A licensed feature (repeatable).")
@click.option("--seats", type=click.IntRange(1), default=None, help="The number of seats.")
@click.option("--domain", "domains", multiple=True, help="An email domain it covers (repeatable).")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Write it here instead of printing it."
)
def license_issue(
    private_path: Path,
    licensee: str,
    days: int | None,
    expires: datetime.datetime | None,
    features: tuple[str, ...],
    seats: int | None,
    domains: tuple[str, ...],
    out: Path | None,
) -> None:
    """Issue a signed license."""
    if (days is None) == (expires is None):
        raise click.UsageError("give either --days N or --expires YYYY-MM-DD")
    now = datetime.datetime.now(datetime.UTC)
    until = now + datetime.timedelta(days=days) if days else expires.replace(tzinfo=datetime.UTC)  # type: ignore[union-attr]
    if until <= now:
        raise click.ClickException("the expiry is in the past")
    try:
        document = issue(
            private_path.read_text(),
            licensee.strip(),
            until,
            features=list(features),
            seats=seats,
            domains=list(domains),
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if out:
        out.write_text(document + "\n")
        click.echo(f"license for {licensee.strip()!r} until {until.date()} written to {out}")
    else:
        click.echo(document)


@license_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def license_status(as_json: bool) -> None:
    """The configured license: status, licensee, expiry, features (what the servers will report)."""

    async def work(ctx: HostContext) -> dict[str, object]:
        settings: SsoEnterpriseSettings = ctx.plugin_settings(NAME) or SsoEnterpriseSettings()
        reading = read_license(settings, datetime.datetime.fromtimestamp(ctx.clock(), datetime.UTC))
        found = reading.license
        return {
            "status": reading.status,
            "problem": reading.problem or None,
            "licensee": found.licensee if found else None,
            "issued_at": found.issued_at.isoformat() if found else None,
            "expires_at": found.expires_at.isoformat() if found else None,
            "features": list(found.features) if found else [],
            "seats": found.seats if found else None,
            "domains": list(found.domains) if found else [],
        }

    report = run_with_host(work)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    line = f"license: {report['status']}"
    if report["licensee"]:
        line += f" ({report['licensee']}, until {report['expires_at']})"
    if report["problem"]:
        line += f": {report['problem']}"
    click.echo(line)
