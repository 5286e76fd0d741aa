"""Plugin discovery: one entry-point group, the enable and block lists, loud failures at startup."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from core.app import build_plugins
from core.hookspecs import hookimpl
from core.plugins import (
    ENTRY_POINT_GROUP,
    describe_plugins,
    installed_entry_points,
    load_plugins,
    plugin_env_aliases,
    read_host_settings,
)
from core.settings import DEFAULT_PLUGINS, Settings, SettingsError, apply_environment, validate_tree
from core.testing.fixtures import settings_tree
from core.testing.token_issuer import TOKEN_ISSUER, TokenIssuer
from tests.support.probes import host_for, install_plugin_package, probe_client


class MisspeltHookProbe:
    @hookimpl
    def route_handler(self, ctx: Any) -> list[Any]:  # the hook is route_handlers
        return []


class ExtraArgumentProbe:
    @hookimpl
    def startup(self, ctx: Any, app: Any) -> None:  # the spec has no ``app``
        """Never called."""


def test_builtin_and_example_plugins_share_one_entry_point_group():
    """Built-in plugins and the third-party example are found the same way, through difyd.plugins."""
    installed = installed_entry_points()
    assert {"oauth_device", "openapi_apps", "hello"} <= set(installed)
    assert installed["hello"].group == ENTRY_POINT_GROUP
    assert installed["hello"].value == "difyd_hello.plugin"
    assert installed["oauth_device"].value == "plugins.oauth_device.plugin"


def test_default_enabled_plugins():
    """Without configuration the community plugins run: oauth_device, openapi_apps and app_assets."""
    assert DEFAULT_PLUGINS == ("oauth_device", "openapi_apps", "app_assets")
    assert Settings().plugins.enabled == ["oauth_device", "openapi_apps", "app_assets"]
    loaded = load_plugins(Settings().plugins.enabled)
    assert sorted(loaded.settings) == ["app_assets", "oauth_device", "openapi_apps"]
    assert loaded.manager.get_plugin("hello") is None  # installed, not enabled


def test_unknown_enabled_plugin_is_a_startup_error_naming_it():
    """A name in plugins.enabled that no package provides stops startup and says which."""
    with pytest.raises(SettingsError) as caught:
        load_plugins(["oauth_device", "helo"])
    assert "'helo'" in str(caught.value)
    assert "hello" in str(caught.value)  # the installed names, to spot the typo


def test_blocked_plugin_is_not_registered():
    """plugins.blocked wins over plugins.enabled: the blocked plugin's hooks never run."""
    loaded = load_plugins(["hello", "openapi_apps"], blocked=["hello"])
    assert loaded.manager.is_blocked("hello")
    assert loaded.manager.get_plugin("hello") is None
    assert "hello" not in loaded.settings
    assert loaded.manager.get_plugin("openapi_apps") is not None


def test_hook_without_a_spec_fails_loudly():
    """An implementation of a hook that does not exist (a typo) stops startup, naming plugin and hook."""
    with pytest.raises(SettingsError) as caught:
        load_plugins(["typo"], extra_modules={"typo": MisspeltHookProbe()})
    assert "'typo'" in str(caught.value) and "route_handler" in str(caught.value)


def test_hook_with_an_argument_the_spec_lacks_fails_loudly():
    """An implementation asking for an argument its spec does not offer stops startup."""
    with pytest.raises(SettingsError, match="'extra_arg' does not match its hook specs"):
        load_plugins(["extra_arg"], extra_modules={"extra_arg": ExtraArgumentProbe()})


def test_section_for_an_installed_but_disabled_plugin_is_accepted():
    """[plugin.hello] may stay in the file while hello is disabled: enabling it is then one line."""
    loaded = load_plugins(["openapi_apps"], sections={"hello": {"greeting": "hi"}})
    assert "hello" not in loaded.settings


def test_section_for_an_unknown_plugin_is_an_error_naming_it():
    """A [plugin.X] section for a plugin that is not installed is refused with its name."""
    with pytest.raises(SettingsError) as caught:
        load_plugins(["openapi_apps"], sections={"helo": {"greeting": "hi"}})
    message = str(caught.value)
    assert "[plugin.helo]" in message and "not installed" in message and "DIFYD_PLUGINS__HELO__" in message


def test_plugin_that_fails_to_import_is_named(tmp_path, monkeypatch):
    """An installed plugin whose module raises on import stops startup with its name and the error."""
    root = install_plugin_package(tmp_path, "broken", "raise RuntimeError('missing dependency xyz')\n")
    monkeypatch.syspath_prepend(str(root))
    assert "broken" in installed_entry_points()
    with pytest.raises(SettingsError) as caught:
        load_plugins(["broken"])
    assert "'broken'" in str(caught.value) and "missing dependency xyz" in str(caught.value)


def test_third_party_package_is_discovered_through_its_entry_point(tmp_path, monkeypatch):
    """A package that only declares an entry point in difyd.plugins is found, loaded and validated."""
    source = """
        import msgspec
        from core.hookspecs import hookimpl

        class Settings(msgspec.Struct, forbid_unknown_fields=True):
            colour: str = "blue"

        @hookimpl
        def plugin_settings():
            return Settings
    """
    monkeypatch.syspath_prepend(str(install_plugin_package(tmp_path, "paint", source)))
    loaded = load_plugins(["paint"], sections={"paint": {"colour": "red"}})
    assert loaded.settings_for("paint").colour == "red"


# --- the example third-party package (examples/hello_plugin), through its real entry point ---


# hello has a route behind a bearer token: a host without any token issuer refuses to start.
HELLO = ["hello", TOKEN_ISSUER]


def _hello_settings(make_settings: Any, **overrides: Any) -> Any:
    return make_settings(**{"plugins.enabled": HELLO, **overrides})


def _issuer() -> dict[str, object]:
    return {TOKEN_ISSUER: TokenIssuer()}


async def _greeting(settings: Any) -> str:
    async with host_for(settings, _issuer()) as ctx, probe_client(ctx) as client:
        response = await client.get("/hello")
        assert response.status_code == 200
        return response.json()["greeting"]


async def test_hello_plugin_answers_with_its_default_greeting(make_settings, backend):
    """Enabling the installed example plugin mounts GET /hello with the Struct's default greeting."""
    assert await _greeting(_hello_settings(make_settings)) == "hello"


async def test_hello_greeting_from_its_config_section(make_settings, backend):
    """[plugin.hello] greeting = ... reaches the plugin."""
    settings = _hello_settings(make_settings, **{"plugin.hello": {"greeting": "bonjour"}})
    assert await _greeting(settings) == "bonjour"


@pytest.mark.parametrize(
    "environ",
    [{"DIFYD_PLUGINS__HELLO__GREETING": "hola"}, {"HELLO_GREETING": "hola"}],
    ids=["difyd-name", "plugin-alias"],
)
async def test_hello_greeting_from_the_environment(backend, database_url, tmp_path, environ):
    """The plugin's key is set by DIFYD_PLUGINS__HELLO__GREETING and by its own alias HELLO_GREETING."""
    tree = settings_tree(backend, database_url, tmp_path, **{"plugins.enabled": HELLO})
    tree["plugin"] = {"hello": {"greeting": "from the file"}}
    settings = validate_tree(apply_environment(tree, environ, plugin_env_aliases()), environ)
    assert await _greeting(settings) == "hola"


def test_hello_alias_is_declared_by_the_plugin():
    """Plugin aliases come from the settings Struct's env_aliases ClassVar, scoped to its section."""
    assert plugin_env_aliases()["HELLO_GREETING"] == "plugin.hello.greeting"


def test_invalid_hello_setting_names_plugin_key_and_type(make_settings):
    """A wrong type in [plugin.hello] stops startup with the plugin, the key and the expected type."""
    settings = make_settings(**{"plugins.enabled": ["hello"], "plugin.hello": {"greeting": 42}})
    with pytest.raises(SettingsError) as caught:
        build_plugins(settings)
    assert "plugin 'hello': greeting: expected `str`, got `int`" in str(caught.value)


async def test_hello_job_runs_in_process(make_settings, backend):
    """POST /hello/jobs enqueues the plugin's job; GET /hello/jobs/<ticket> then shows it ran."""
    settings = _hello_settings(make_settings)
    async with host_for(settings, _issuer()) as ctx, probe_client(ctx) as client:
        accepted = await client.post("/hello/jobs", params={"who": "ada"})
        assert accepted.status_code == 202
        ticket = accepted.json()["ticket"]
        status: dict[str, Any] = {}
        for _ in range(100):
            status = (await client.get(f"/hello/jobs/{ticket}")).json()
            if status["done"]:
                break
            await asyncio.sleep(0.05)
        assert status == {"done": True, "who": "ada"}
        assert (await client.get("/hello/jobs/unknown")).json() == {"done": False, "who": None}


async def test_hello_me_sits_behind_the_bearer_pipeline(make_settings, backend):
    """A third-party route guarded with core's bearer_guard answers a real dfoa_ token and refuses none."""
    from core.testing import factories
    from core.testing.fixtures import truncate
    from plugins.oauth_device.tests.helpers import device_login

    settings = make_settings(**{"plugins.enabled": ["oauth_device", "hello"]})
    async with host_for(settings) as ctx, probe_client(ctx) as client:
        alice = await factories.person(ctx)
        await factories.workspace(ctx, "Acme", (alice, "owner"))
        login = await device_login(client, alice)
        refused = await client.get("/hello/me")
        assert refused.status_code == 401
        answered = await client.get("/hello/me", headers={"Authorization": f"Bearer {login['token']}"})
        assert answered.status_code == 200
        assert answered.json() == {"token_id": login["token_id"]}
        await truncate(ctx)


# --- plugins written as classes, hooks under other names, blocked plugins never imported ---


class PaintSettings(msgspec.Struct, forbid_unknown_fields=True):
    colour: str = "blue"


class ClassBasedPlugin:
    """A plugin object whose hooks are methods, one registered under another name."""

    @hookimpl
    def plugin_settings(self) -> type:
        return PaintSettings

    @hookimpl(specname="requires_core")
    def supported_core(self) -> str:
        return ">=99"


def test_class_based_plugin_with_a_renamed_hook_is_checked_like_a_module():
    """pluggy's own records answer for a plugin: a method registered with specname is honoured."""
    with pytest.raises(SettingsError, match="supports core >=99"):
        load_plugins(["paint"], extra_modules={"paint": ClassBasedPlugin()})


def test_class_based_plugin_settings_are_validated():
    """Settings declared by a method are validated like a module-level hook's."""

    class Compatible(ClassBasedPlugin):
        @hookimpl(specname="requires_core")
        def supported_core(self) -> str:
            return ">=0"

    plugin = {"paint": Compatible()}
    loaded = load_plugins(["paint"], sections={"paint": {"colour": "red"}}, extra_modules=plugin)
    assert loaded.settings_for("paint").colour == "red"
    with pytest.raises(SettingsError, match="plugin 'paint': colour"):
        load_plugins(["paint"], sections={"paint": {"colour": 3}}, extra_modules=plugin)


def test_blocked_plugin_is_never_imported(tmp_path, monkeypatch):
    """A blocked plugin's module is not imported: not for aliases, not for settings, not for the list."""
    marker = tmp_path / "imported"
    root = install_plugin_package(tmp_path / "site", "noisy", f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(root))
    config = tmp_path / "difyd.toml"
    config.write_text('[plugins]\nenabled = ["openapi_apps", "noisy"]\nblocked = ["noisy"]\n')
    settings = read_host_settings(config, environ={})
    loaded = build_plugins(settings)
    infos = {info.name: info for info in describe_plugins(loaded, blocked=settings.plugins.blocked)}
    assert infos["noisy"].error == "blocked" and not infos["noisy"].enabled
    assert not marker.exists()
    plugin_env_aliases()  # unblocked, it is imported: the marker proves the probe can see it
    assert marker.exists()
