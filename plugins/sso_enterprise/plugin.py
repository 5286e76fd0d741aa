"""The sso_enterprise plugin (optional, not enabled by default): the enterprise license so far.

- settings ``[plugin.sso_enterprise]``: the license (a file or the document) and the issuer's public key;
- ``license_status``: the status the core's license guard admits routes by (active and expiring only);
- commands ``difyd license keygen|issue|status``.

Single sign-on for external users (OIDC), ``dfoe_`` tokens and the permitted external apps are the
rest of this plugin, still to be built (README.md says what exists).
"""

from __future__ import annotations

import datetime

import click

from core.api import HostContext, LicenseStatus, hookimpl
from plugins.sso_enterprise.license import read_license
from plugins.sso_enterprise.settings import SsoEnterpriseSettings

NAME = "sso_enterprise"


@hookimpl
def requires_core() -> str:
    return ">=0.1,<1"


@hookimpl
def plugin_settings() -> type[SsoEnterpriseSettings]:
    return SsoEnterpriseSettings


@hookimpl
def license_status(ctx: HostContext) -> LicenseStatus:
    """Read now (the core caches it for a few seconds): expiry passing and a new license file take effect
    without a restart."""
    settings: SsoEnterpriseSettings = ctx.plugin_settings(NAME) or SsoEnterpriseSettings()
    return read_license(settings, datetime.datetime.fromtimestamp(ctx.clock(), datetime.UTC)).status


@hookimpl
def cli_commands() -> list[click.Command]:
    from plugins.sso_enterprise.commands import license_group

    return [license_group]
