"""Plugin discovery, the enable list, per-plugin settings validation and core-version compatibility.

Every plugin, built-in or third-party, is found through one entry-point group (``difyd.plugins``):
the built-ins are registered by this project's own pyproject exactly like a user's package would.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import msgspec
import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from core import __version__ as CORE_VERSION
from core import hookspecs
from core.settings import SettingsError

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


def _check_core_compatibility(name: str, module: ModuleType) -> None:
    requires = getattr(module, "requires_core", None)
    if requires is None:
        return
    spec_text = requires()
    try:
        spec = SpecifierSet(spec_text)
    except InvalidSpecifier as exc:
        raise SettingsError(f"plugin {name!r} declares an invalid core requirement {spec_text!r}") from exc
    if Version(CORE_VERSION) not in spec:
        raise SettingsError(
            f"plugin {name!r} supports core {spec_text}, but this core is {CORE_VERSION}: "
            f"upgrade the plugin or remove it from plugins.enabled"
        )


def _validate_plugin_settings(name: str, module: ModuleType, raw: dict[str, Any]) -> Any:
    declare = getattr(module, "plugin_settings", None)
    if declare is None:
        if raw:
            raise SettingsError(f"plugin {name!r} takes no settings, but [plugin.{name}] has {sorted(raw)}")
        return None
    struct_type = declare()
    try:
        return msgspec.convert(raw, struct_type, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid settings for plugin {name!r}: {exc} (in [plugin.{name}])") from exc


def plugin_env_aliases() -> dict[str, str]:
    """Dify-style environment names that plugins map onto their own keys (e.g. OAUTH_TTL_DAYS)."""
    aliases: dict[str, str] = {}
    for name, entry_point in installed_entry_points().items():
        try:
            module = entry_point.load()
        except Exception:  # noqa: S112 - a broken plugin is reported by load_plugins, not here
            continue
        declare = getattr(module, "plugin_settings", None)
        if declare is None:
            continue
        for env_name, key in getattr(declare(), "env_aliases", {}).items():
            aliases[env_name] = f"plugin.{name}.{key}"
    return aliases


def load_plugins(
    enabled: Iterable[str],
    blocked: Iterable[str] = (),
    sections: dict[str, dict[str, Any]] | None = None,
    extra_modules: dict[str, ModuleType] | None = None,
) -> LoadedPlugins:
    """Register the enabled plugins; any unknown name, bad setting or unsupported core is fatal."""
    manager = new_manager()
    installed = installed_entry_points()
    enabled = list(dict.fromkeys(enabled))
    blocked = set(blocked)
    extra_modules = extra_modules or {}
    sections = sections or {}
    unknown = [name for name in enabled if name not in installed and name not in extra_modules]
    if unknown:
        known = ", ".join(sorted([*installed, *extra_modules])) or "none"
        raise SettingsError(f"plugins.enabled names unknown plugin(s) {unknown}; installed: {known}")
    stray = [name for name in sections if name not in enabled and name not in installed]
    if stray:
        raise SettingsError(f"[plugin.{stray[0]}] configures a plugin that is not installed")
    for name in blocked:
        manager.set_blocked(name)
    loaded = LoadedPlugins(manager=manager, installed=installed)
    for name in enabled:
        if name in blocked:
            continue
        module = extra_modules[name] if name in extra_modules else installed[name].load()
        _check_core_compatibility(name, module)
        loaded.settings[name] = _validate_plugin_settings(name, module, sections.get(name, {}))
        manager.register(module, name=name)
    # An implementation without a spec is a typo or a version mismatch: fail loudly.
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise SettingsError(f"plugin hook without a spec: {exc}") from exc
    return loaded


def describe_plugins(loaded: LoadedPlugins, enabled: Iterable[str]) -> list[PluginInfo]:
    enabled_set = set(enabled)
    infos = []
    for name, entry_point in sorted(loaded.installed.items()):
        module = entry_point.load()
        hooks = tuple(
            sorted(
                attr
                for attr in dir(module)
                if hasattr(getattr(module, attr), f"{hookspecs.PROJECT}_impl")
            )
        )
        schema = None
        declare = getattr(module, "plugin_settings", None)
        if declare is not None:
            schema = msgspec.json.schema(declare())
        infos.append(
            PluginInfo(
                name=name,
                version=_version_of(entry_point, module),
                module=entry_point.value,
                enabled=name in enabled_set and not loaded.manager.is_blocked(name),
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


Factory = Callable[..., Awaitable[Any]]
