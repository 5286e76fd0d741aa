"""The plugin's settings (``[plugin.sso_enterprise]``), validated at start-up."""

from __future__ import annotations

from typing import Annotated

import msgspec


class SsoEnterpriseSettings(msgspec.Struct, forbid_unknown_fields=True):
    # The license: a file (read again whenever the status is asked, so a new file takes effect
    # without a restart) or the document itself (an environment variable, say). The file wins.
    license_file: str = ""
    license: str = ""
    # The issuer's Ed25519 public key (PEM) the license must be signed with: inline, or a file.
    public_key: str = ""
    public_key_file: str = ""
    # Within this many days of its expiry a license reports "expiring" (still admitted).
    expiring_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30
