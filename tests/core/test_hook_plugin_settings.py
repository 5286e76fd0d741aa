"""plugin_settings / requires_core: a plugin's config section is validated, its core range enforced."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar import Request, get

from core import __version__ as CORE_VERSION
from core.hookspecs import hookimpl
from core.plugins import load_plugins
from core.settings import SettingsError
from tests.support.probes import probe_client, probe_host


class ProbeSettings(msgspec.Struct, forbid_unknown_fields=True):
    word: str = "default"
    limit: int = 3
    tags: list[str] = []
    strict: bool = False


@get("/probe/settings")
async def show_settings(request: Request) -> dict[str, Any]:
    return msgspec.to_builtins(request.app.state.host.plugin_settings("settings_probe"))


class SettingsProbe:
    @hookimpl
    def plugin_settings(self) -> type[ProbeSettings]:
        return ProbeSettings

    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [show_settings]


class VersionProbe:
    def __init__(self, spec: str) -> None:
        self.spec = spec

    @hookimpl
    def requires_core(self) -> str:
        return self.spec


async def test_hook_plugin_settings(make_settings, backend):
    """The [plugin.<name>] section reaches the plugin validated and typed; missing keys take defaults."""
    section = {"word": "configured", "limit": "7", "tags": "a, b", "strict": "yes"}  # as env strings
    overrides = {"plugin.settings_probe": section}
    async with probe_host(make_settings, {"settings_probe": SettingsProbe()}, **overrides) as ctx, \
            probe_client(ctx) as client:
        body = (await client.get("/probe/settings")).json()
    assert body == {"word": "configured", "limit": 7, "tags": ["a", "b"], "strict": True}


def test_plugin_settings_defaults_without_a_section():
    """A plugin enabled without a config section gets its Struct's defaults."""
    loaded = load_plugins(["settings_probe"], extra_modules={"settings_probe": SettingsProbe()})
    assert loaded.settings_for("settings_probe") == ProbeSettings()


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        ({"limit": "many"}, "limit", "expected `int`, got `str`"),
        ({"tags": [1]}, "tags[0]", "expected `str`, got `int`"),
        ({"colour": "red"}, "colour", "not a known setting"),
    ],
)
def test_plugin_settings_errors_name_plugin_key_and_expectation(section, key, expected):
    """A bad value stops startup with a message naming the plugin, the key and what was expected."""
    with pytest.raises(SettingsError) as caught:
        load_plugins(["settings_probe"], sections={"settings_probe": section},
                     extra_modules={"settings_probe": SettingsProbe()})
    message = str(caught.value)
    assert "plugin 'settings_probe'" in message
    assert f"{key}: {expected}" in message
    assert "[plugin.settings_probe]" in message


def test_settings_for_a_plugin_without_a_struct_are_refused():
    """Keys given to a plugin that declares no settings are an error, not silently dropped."""
    with pytest.raises(SettingsError, match="'version_probe' takes no settings"):
        load_plugins(["version_probe"], sections={"version_probe": {"x": 1}},
                     extra_modules={"version_probe": VersionProbe(">=0")})


def test_hook_requires_core():
    """A plugin whose supported core range excludes this core is refused at startup, saying both versions."""
    assert load_plugins(["version_probe"], extra_modules={"version_probe": VersionProbe(">=0.1,<1")})
    with pytest.raises(SettingsError) as caught:
        load_plugins(["version_probe"], extra_modules={"version_probe": VersionProbe(">=99")})
    message = str(caught.value)
    assert "'version_probe'" in message and ">=99" in message and CORE_VERSION in message
    assert "plugins.enabled" in message  # what to do about it


def test_requires_core_with_an_invalid_specifier_is_refused():
    """A requirement that is not a PEP 440 specifier is reported, naming the plugin."""
    with pytest.raises(SettingsError, match="'version_probe' declares an invalid core requirement"):
        load_plugins(["version_probe"], extra_modules={"version_probe": VersionProbe("version two")})


def test_an_incompatible_but_disabled_plugin_does_not_stop_startup():
    """Only enabled plugins are checked: an installed plugin for another core may sit unused."""
    loaded = load_plugins([], extra_modules={"version_probe": VersionProbe(">=99")})
    assert loaded.settings == {}
