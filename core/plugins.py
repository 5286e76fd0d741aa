"""Plugin discovery, the enable list, per-plugin settings validation and core-version compatibility.

Every plugin, built-in or third-party, is found through one entry-point group (``difyd.plugins``):
the built-ins are registered by this project's own pyproject exactly like a user's package would.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from core import __version__ as CORE_VERSION
from core import hookspecs
from core.settings import (
    Settings,
    SettingsError,
    check_production,
    dotted_to_env,
    ensure_secret_key,
    explain_validation_error,
    field_types,
    parse_env_value,
    read_settings,
)

ENTRY_POINT_GROUP = "difyd.plugins"


@dataclass(frozen=True)
class PluginInfo:
    """What ``difyd plugins list`` shows about one installed plugin."""

    name: str
    version: str
    module: str
    enabled: bool
    hooks: tuple[str, ...] = ()
    settings_schema: dict[str, Any] | None = None
    error: str | None = None  # why the plugin could not be imported (listed anyway, to be fixed)


@dataclass
class LoadedPlugins:
    manager: pluggy.PluginManager
    settings: dict[str, Any] = field(default_factory=dict)
    installed: dict[str, metadata.EntryPoint] = field(default_factory=dict)

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def settings_for(self, name: str) -> Any:
        return self.settings[name]


def installed_entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _version_of(entry_point: metadata.EntryPoint, module: ModuleType) -> str:
    declared = getattr(module, "__version__", None)
    if declared:
        return str(declared)
    if entry_point.dist is not None:
        return entry_point.dist.version
    return "unknown"


def new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def call_one(manager: pluggy.PluginManager, plugin: object, hook_name: str, **kwargs: Any) -> Any:
    """One registered plugin's answer to a hook (None when it does not implement it).

    Through pluggy's own records, so a class-based plugin or an implementation registered under
    another name (``@hookimpl(specname=...)``) answers just as a module-level function does.
    """
    for impl in getattr(manager.hook, hook_name).get_hookimpls():
        if impl.plugin is plugin:
            return impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
    return None


class PluginError(SettingsError):
    """A plugin failed while the host asked it something: one line naming the plugin and the hook
    (and the setting, where one is to blame), never a traceback that names neither."""


def plugin_failure(plugin: str, hook: str, exc: BaseException) -> PluginError:
    return PluginError(f"plugin {plugin!r} failed in its {hook} hook: {type(exc).__name__}: {exc}")


def call_each(plugins: LoadedPlugins, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Every implementation's answer with its plugin's name, in pluggy's call order (last registered
    first); an exception in one is a ``PluginError`` naming that plugin and the hook."""
    answers = []
    for impl in reversed(getattr(plugins.hook, hook_name).get_hookimpls()):
        try:
            answer = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception as exc:
            raise plugin_failure(impl.plugin_name, hook_name, exc) from exc
        answers.append((impl.plugin_name, answer))
    return answers


async def call_each_awaited(plugins: LoadedPlugins, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """``call_each`` for hooks whose answers are awaited (startup, demo data): a failure while the
    answer is awaited names the plugin and the hook too."""
    answers = []
    for name, answer in call_each(plugins, hook_name, **kwargs):
        try:
            answers.append((name, await await_me_maybe(answer)))
        except Exception as exc:
            raise plugin_failure(name, hook_name, exc) from exc
    return answers


def each_flattened(plugins: LoadedPlugins, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """``call_each`` for hooks that return lists: one (plugin, item) pair per item."""
    return [
        (name, item) for name, answer in call_each(plugins, hook_name, **kwargs) for item in flatten([answer])
    ]


def _probe_manager(name: str, plugin: object) -> pluggy.PluginManager:
    """A manager holding only ``plugin``: to ask it about itself before (or without) enabling it."""
    manager = new_manager()
    manager.register(plugin, name=name)
    return manager


def _check_core_compatibility(name: str, manager: pluggy.PluginManager, plugin: object) -> None:
    spec_text = call_one(manager, plugin, "requires_core")
    if spec_text is None:
        return
    try:
        spec = SpecifierSet(spec_text)
    except InvalidSpecifier as exc:
        raise SettingsError(f"plugin {name!r} declares an invalid core requirement {spec_text!r}") from exc
    if Version(CORE_VERSION) not in spec:
        raise SettingsError(
            f"plugin {name!r} supports core {spec_text}, but this core is {CORE_VERSION}: "
            f"upgrade the plugin or remove it from plugins.enabled"
        )


def _shape_strings(raw: dict[str, Any], struct_type: type) -> dict[str, Any]:
    """Environment values arrive as strings: shape each like the field it sets (lists split at commas)."""
    types = field_types(struct_type)
    return {
        key: parse_env_value(value, types.get(key)) if isinstance(value, str) else value
        for key, value in raw.items()
    }


def _settings_struct(manager: pluggy.PluginManager, plugin: object) -> type | None:
    """The settings Struct a plugin declares through ``plugin_settings()``, if it takes settings."""
    name = manager.get_name(plugin) or repr(plugin)
    try:
        struct_type = call_one(manager, plugin, "plugin_settings")
    except Exception as exc:
        raise plugin_failure(name, "plugin_settings", exc) from exc
    if struct_type is None:
        return None
    if not (isinstance(struct_type, type) and issubclass(struct_type, msgspec.Struct)):
        shown = (
            repr(struct_type) if isinstance(struct_type, type) else f"a {type(struct_type).__name__} instance"
        )
        raise PluginError(
            f"plugin {name!r}: its plugin_settings hook must return a msgspec.Struct class "
            f"(the class itself, not an instance); it returned {shown}"
        )
    return struct_type


def _validate_plugin_settings(
    name: str, manager: pluggy.PluginManager, plugin: object, raw: dict[str, Any]
) -> Any:
    struct_type = _settings_struct(manager, plugin)
    if struct_type is None:
        if raw:
            raise SettingsError(f"plugin {name!r} takes no settings, but [plugin.{name}] has {sorted(raw)}")
        return None
    try:
        return msgspec.convert(_shape_strings(raw, struct_type), struct_type, strict=False)
    except msgspec.ValidationError as exc:
        key, what = explain_validation_error(exc, struct_type)
        raise SettingsError(
            f"invalid setting for plugin {name!r}: {key}: {what} ({_origin(name, key, struct_type)})"
        ) from exc


def _origin(plugin: str, key: str, struct_type: type) -> str:
    """Where the operator set a plugin's setting: the environment variable they actually used (the
    canonical one or an alias the plugin declares), else the config section."""
    canonical = dotted_to_env(f"plugin.{plugin}.{key}")
    aliases = [env for env, field in getattr(struct_type, "env_aliases", {}).items() if field == key]
    used = [env for env in [canonical, *aliases] if env in os.environ]
    if used:
        return f"set by environment {', '.join(used)}"
    return f"in [plugin.{plugin}] or {canonical}"


def plugin_env_aliases(blocked: Iterable[str] = ()) -> dict[str, str]:
    """Dify-style environment names that plugins map onto their own keys (e.g. OAUTH_TTL_DAYS).

    Blocked plugins are not imported at all, here or anywhere."""
    aliases: dict[str, str] = {}
    skip = set(blocked)
    for name, entry_point in installed_entry_points().items():
        if name in skip:
            continue
        try:
            module = entry_point.load()
            struct_type = _settings_struct(_probe_manager(name, module), module)
        except Exception:  # noqa: S112 - a broken plugin is reported by load_plugins, not here
            continue
        if struct_type is None:
            continue
        for env_name, key in getattr(struct_type, "env_aliases", {}).items():
            aliases[env_name] = f"plugin.{name}.{key}"
    return aliases


def read_host_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings with the environment aliases the installed plugins declare, the secret key unsettled.

    Read twice: the first pass learns ``plugins.blocked``, so a blocked plugin is never imported
    just to ask it for aliases."""
    blocked = read_settings(path, environ).plugins.blocked
    return read_settings(path, environ, plugin_env_aliases(blocked))


def load_host_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """``read_host_settings``, checked for production and with the secret key settled."""
    settings = read_host_settings(path, environ)
    check_production(settings)
    return ensure_secret_key(settings)


def _load_entry_point(name: str, entry_point: metadata.EntryPoint) -> ModuleType:
    try:
        return entry_point.load()
    except Exception as exc:
        raise SettingsError(
            f"plugin {name!r} ({entry_point.value}) failed to import: {type(exc).__name__}: {exc}"
        ) from exc


def load_plugins(
    enabled: Iterable[str],
    blocked: Iterable[str] = (),
    sections: Mapping[str, dict[str, Any]] | None = None,
    extra_modules: Mapping[str, object] | None = None,
) -> LoadedPlugins:
    """Register the enabled plugins; any unknown name, bad setting or unsupported core is fatal.

    ``extra_modules`` adds plugin objects that are not installed packages (tests register probes so).
    A ``[plugin.<name>]`` section for an installed but disabled plugin is kept and ignored, so that
    enabling a plugin is one line; a section for a plugin that is not installed is an error.
    """
    manager = new_manager()
    installed = installed_entry_points()
    enabled = list(dict.fromkeys(enabled))
    blocked = set(blocked)
    extra_modules = extra_modules or {}
    sections = sections or {}
    known = {*installed, *extra_modules}
    unknown = [name for name in enabled if name not in known]
    if unknown:
        raise SettingsError(
            f"plugins.enabled names unknown plugin(s) {', '.join(map(repr, unknown))}; "
            f"installed: {', '.join(sorted(known)) or 'none'}"
        )
    stray = sorted(name for name in sections if name not in known)
    if stray:
        raise SettingsError(
            f"[plugin.{stray[0]}] (or DIFYD_PLUGINS__{stray[0].upper()}__*) configures plugin "
            f"{stray[0]!r}, which is not installed; installed: {', '.join(sorted(known)) or 'none'}"
        )
    for name in blocked:
        manager.set_blocked(name)
    loaded = LoadedPlugins(manager=manager, installed=installed)
    for name in enabled:
        if name in blocked:
            continue  # never imported
        module = extra_modules[name] if name in extra_modules else _load_entry_point(name, installed[name])
        try:
            manager.register(module, name=name)
        except pluggy.PluginValidationError as exc:  # a hookimpl asks for arguments its spec lacks
            raise SettingsError(f"plugin {name!r} does not match its hook specs: {_one_line(exc)}") from exc
        _check_core_compatibility(name, manager, module)
        loaded.settings[name] = _validate_plugin_settings(name, manager, module, sections.get(name, {}))
    # An implementation without a spec is a typo or a version mismatch: fail loudly.
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        name = manager.get_name(exc.plugin) or repr(exc.plugin)
        raise SettingsError(
            f"plugin {name!r} implements a hook that no spec declares ({_one_line(exc, name)}); "
            "see docs/hooks.md"
        ) from exc
    return loaded


def _one_line(exc: pluggy.PluginValidationError, name: str | None = None) -> str:
    """pluggy's message on one line, with the plugin's name instead of its module's repr."""
    text = str(exc)
    if name is not None:
        text = text.replace(repr(exc.plugin), repr(name))
    return " ".join(text.split())


def describe_plugins(loaded: LoadedPlugins, blocked: Iterable[str] = ()) -> list[PluginInfo]:
    """Every installed plugin, enabled (registered) or not, with its hooks and settings JSON Schema;
    a blocked plugin is listed without being imported."""
    infos = []
    skip = set(blocked)
    for name, entry_point in sorted(loaded.installed.items()):
        version = entry_point.dist.version if entry_point.dist else "unknown"
        if name in skip:
            infos.append(PluginInfo(name, version, entry_point.value, enabled=False, error="blocked"))
            continue
        try:
            module = _load_entry_point(name, entry_point)
            registered = loaded.manager.get_plugin(name) is module
            manager = loaded.manager if registered else _probe_manager(name, module)
        except (SettingsError, pluggy.PluginValidationError) as exc:
            infos.append(PluginInfo(name, version, entry_point.value, enabled=False, error=str(exc)))
            continue
        hooks = tuple(sorted(caller.name for caller in manager.get_hookcallers(module) or ()))
        try:
            struct_type = _settings_struct(manager, module)
        except SettingsError as exc:
            infos.append(
                PluginInfo(name, version, entry_point.value, enabled=False, hooks=hooks, error=str(exc))
            )
            continue
        schema = None if struct_type is None else msgspec.json.schema(struct_type)
        infos.append(
            PluginInfo(
                name=name,
                version=_version_of(entry_point, module),
                module=entry_point.value,
                enabled=loaded.manager.get_plugin(name) is not None,
                hooks=hooks,
                settings_schema=schema,
            )
        )
    return infos


async def await_me_maybe(value: Any) -> Any:
    """Hooks may return a value, a callable or an awaitable; resolve all three."""
    if callable(value) and not inspect.isclass(value):
        value = value()
    if inspect.isawaitable(value):
        value = await value
    return value


async def call_hooks(hook_caller: Any, **kwargs: Any) -> list[Any]:
    """Call a hook and resolve each implementation's result in turn (pluggy itself is synchronous)."""
    return [await await_me_maybe(result) for result in hook_caller(**kwargs)]


def flatten(results: Iterable[Any]) -> list[Any]:
    """Collect hooks return lists; flatten them, skipping Nones."""
    out: list[Any] = []
    for result in results:
        if result is None:
            continue
        if isinstance(result, list | tuple):
            out.extend(result)
        else:
            out.append(result)
    return out
