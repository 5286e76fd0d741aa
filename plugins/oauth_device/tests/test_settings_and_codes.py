"""Settings (TTL clamp, client allowlist, Dify env names) and the code formats."""

from __future__ import annotations

import datetime
import re

import pytest

from core.plugins import plugin_env_aliases
from core.settings import apply_environment
from core.testing import factories
from plugins.oauth_device.codes import (
    USER_CODE_ALPHABET,
    new_device_code,
    new_token,
    new_user_code,
    normalise_user_code,
)
from plugins.oauth_device.settings import OAuthDeviceSettings
from plugins.oauth_device.tests.helpers import device_login


@pytest.mark.parametrize(("raw", "days"), [(14, 14), (30, 30), (0, 1), (-5, 1), (366, 365), (10_000, 365)])
def test_ttl_days_is_clamped(raw, days):
    """OAUTH_TTL_DAYS is clamped to 1..365, as Dify does."""
    assert OAuthDeviceSettings(ttl_days=raw).effective_ttl_days == days


@pytest.mark.parametrize("raw", ["abc", "1.5", ""])
def test_ttl_days_that_is_not_a_whole_number_stops_the_start_naming_the_variable(raw, monkeypatch):
    """Dify quietly used 14 days: a typo would have changed the lifetime of every token."""
    from core.app import build_plugins
    from core.plugins import read_host_settings
    from core.settings import SettingsError

    monkeypatch.setenv("OAUTH_TTL_DAYS", raw)
    monkeypatch.setenv("DIFYD_PLUGINS__ENABLED", "oauth_device")
    with pytest.raises(SettingsError) as caught:
        build_plugins(read_host_settings())
    message = str(caught.value)
    assert message.startswith("invalid setting for plugin 'oauth_device': ttl_days: expected `int`")
    assert message.endswith("(set by environment OAUTH_TTL_DAYS)")


def test_known_client_ids_accepts_a_comma_list():
    """OPENAPI_KNOWN_CLIENT_IDS is comma-separated; the default is difyctl."""
    assert OAuthDeviceSettings().client_ids == {"difyctl"}
    assert OAuthDeviceSettings(known_client_ids="difyctl, other ,").client_ids == {"difyctl", "other"}


def test_dify_environment_names_reach_the_plugin_section():
    """The Dify names map onto [plugin.oauth_device] keys."""
    aliases = plugin_env_aliases()
    tree = apply_environment(
        {},
        {
            "OAUTH_TTL_DAYS": "30",
            "OPENAPI_KNOWN_CLIENT_IDS": "a,b",
            "OAUTH_ACCESS_TOKEN_RETENTION_DAYS": "7",
            "ENABLE_CLEAN_OAUTH_ACCESS_TOKENS_TASK": "false",
        },
        aliases,
    )
    section = tree["plugin"]["oauth_device"]
    import msgspec

    settings = msgspec.convert(section, OAuthDeviceSettings, strict=False)
    assert settings.effective_ttl_days == 30 and settings.client_ids == {"a", "b"}
    assert settings.retention_days == 7 and settings.clean_task_enabled is False


async def test_ttl_setting_decides_expiry(make_settings):
    """A token minted with ttl_days=400 expires in 365 days (clamped)."""
    import httpx

    from core.app import build_context, create_app

    ctx = build_context(make_settings(**{"plugin.oauth_device.ttl_days": 400}))
    try:
        alice = await factories.person(ctx)
        await factories.workspace(ctx, "Acme", (alice, "owner"))
        app = create_app(ctx=ctx)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t.local"
        ) as http:
            http.app = app
            payload = await device_login(http, alice)
        expires = datetime.datetime.fromisoformat(payload["expires_at"])
        days = (expires - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400
        assert 364.9 < days <= 365
    finally:
        from core.testing.fixtures import truncate

        await truncate(ctx)
        await ctx.state.close()
        await ctx.engine.dispose()


def test_code_formats():
    """Device codes are dc_+32, user codes XXXX-XXXX from the alphabet, tokens prefix+43."""
    assert re.fullmatch(r"dc_[A-Za-z0-9_-]{32}", new_device_code())
    for _ in range(200):
        code = new_user_code()
        assert re.fullmatch(f"[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}", code)
    assert re.fullmatch(r"dfoa_[A-Za-z0-9_-]{43}", new_token("dfoa_"))
    assert len(USER_CODE_ALPHABET) == 30 and not set("IOZ012") & set(USER_CODE_ALPHABET)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABCD-EFGH", "ABCD-EFGH"),
        ("abcdefgh", "ABCD-EFGH"),
        (" abcd efgh ", "ABCD-EFGH"),
        ("AB-CD-EF-GH", "ABCD-EFGH"),
        ("abcd—efgh", "ABCD-EFGH"),
        ("ABCD-EFG", None),
        ("ABCD-EFGHJ", None),
        ("", None),
        (None, None),
        ("ABCD-EFGI", None),
        ("abcd_efgh.", "ABCD-EFGH"),
        ("ABCD\u00a0EFGH", "ABCD-EFGH"),  # a no-break space is whitespace
        # Any other character outside the alphabet means no match, never "ignored":
        ("4UPGZ-FN8E", None),
        ("04UPGO1I-FN8E", None),
        ("ABCD-EFG\u017f", None),  # long s: upper-cases to S, but is not an S
        ("ABCD-EFG\u212a", None),  # Kelvin sign: lower-cases to k
        ("ABCD-EFGH!", None),
        ("ABCD/EFGH", None),
        ("ABCD-EFGH\x00", None),
        ("A" * 4 + " " * 100 + "B" * 4, None),  # longer than any code typed with spaces
    ],
)
def test_user_code_normalisation(raw, expected):
    """Case-insensitive, hyphen optional, whitespace and separators ignored; any other character and
    a wrong length match nothing."""
    assert normalise_user_code(raw) == expected
