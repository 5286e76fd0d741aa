"""The plugin's settings (``[plugin.oauth_device]``) and the Dify environment names that feed them."""

from __future__ import annotations

import msgspec

DEFAULT_TTL_DAYS = 14
MIN_TTL_DAYS = 1
MAX_TTL_DAYS = 365


class OAuthDeviceSettings(msgspec.Struct, forbid_unknown_fields=True):
    # Lifetime of a minted token in days, clamped to 1..365 (Dify's rule). Not a whole number stops
    # the start naming the variable (Dify quietly used 14: a typo would change every token's life).
    ttl_days: int = DEFAULT_TTL_DAYS
    # client_id values accepted by POST /oauth/device/code (a list, or a comma-separated string).
    known_client_ids: list[str] | str = msgspec.field(default_factory=lambda: ["difyctl"])
    # Revoked or expired token rows are deleted this many days later by the daily purge job.
    retention_days: int = 30
    # Turn the daily purge job off (ENABLE_CLEAN_OAUTH_ACCESS_TOKENS_TASK=false).
    clean_task_enabled: bool = True
    # Token polls per minute from one IP address, over all its device codes. A difyctl polls every
    # 5 s (12 a minute), so the default lets 100 logins wait at once behind one NAT. Past it the poll
    # answers slow_down, which makes difyctl poll less often instead of giving up.
    poll_limit_per_ip: int = 1200
    # Also answer RFC 8628's verification_uri_complete (the /device URL with ?user_code=), for clients
    # that show a QR code or open a browser. Off by default: a link that carries the code is what a
    # phisher sends (RFC 8628 §5.4), so the person types the code unless the operator chooses
    # otherwise. The page shows the request (client, device, when and from where) before sign-in
    # either way, and a pre-filled code still has to be confirmed.
    verification_uri_complete: bool = False

    # Dify's environment names (read by core.settings through plugin_env_aliases).
    env_aliases = {
        "OAUTH_TTL_DAYS": "ttl_days",
        "OPENAPI_KNOWN_CLIENT_IDS": "known_client_ids",
        "OAUTH_ACCESS_TOKEN_RETENTION_DAYS": "retention_days",
        "ENABLE_CLEAN_OAUTH_ACCESS_TOKENS_TASK": "clean_task_enabled",
    }

    @property
    def effective_ttl_days(self) -> int:
        return min(max(self.ttl_days, MIN_TTL_DAYS), MAX_TTL_DAYS)

    @property
    def client_ids(self) -> frozenset[str]:
        raw = self.known_client_ids
        items = raw.split(",") if isinstance(raw, str) else raw
        return frozenset(item.strip() for item in items if item.strip())
