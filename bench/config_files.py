"""The server's configuration as a benchmark writes it: the production settings every stack starts
from, a TOML writer for them, and which built-in plugins a configuration can enable.

Changes here follow the server's settings schema (``core/settings``); nothing here starts anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from knobs import REPO

SECRET_KEY = "bench-" + "k" * 40

# The bearer per-token limiter is switched off for throughput runs (one token, thousands of requests a
# second); its cost is measured separately with a limit far above the offered load.
LIMITER_OFF = 0
LIMITER_HIGH = 100_000_000


def production_settings(
    data_dir: Path, database_name: str, redis_url: str, key_prefix: str
) -> dict[str, Any]:
    """Mode production on PostgreSQL and Redis (state ``redis``, jobs ``saq``), limiter off."""
    return {
        "mode": "production",
        "data_dir": str(data_dir),
        "secret_key": SECRET_KEY,
        "console_web_url": "http://127.0.0.1",
        "console_api_url": "http://127.0.0.1",
        "server": {"host": "127.0.0.1", "trusted_proxies": ["10.0.0.0/8"]},
        "database": {
            "url": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database_name}",
            "pool_size": 10,
        },
        "redis": {"url": redis_url},
        "state": {"backend": "redis", "key_prefix": key_prefix},
        "jobs": {"backend": "saq", "queue": key_prefix + "jobs"},
        "bearer": {"enabled": True, "rate_limit_per_token": LIMITER_OFF},
        # Many benchmark clients sign in from 127.0.0.1: the console login limits would refuse them.
        "console": {"login_limit_per_ip": 100_000, "login_limit_per_account": 100_000},
        "log": {"level": "WARNING", "json": True},
    }


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it, table by table (a script overrides single keys)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# ---------------------------------------------------------------------------------------------------
# TOML: only the few shapes our settings use (scalars, lists of them, nested tables), so no dependency.


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string literal is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def toml_dumps(tree: dict[str, Any], prefix: str = "") -> str:
    # A table's own keys must come before its sub-tables' headers, or TOML would assign them to the last
    # sub-table opened.
    scalars = [f"{key} = {_toml_value(value)}" for key, value in tree.items() if not isinstance(value, dict)]
    lines = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for key, value in tree.items():
        if isinstance(value, dict):
            text += toml_dumps(value, f"{prefix}.{key}" if prefix else key)
    return text


# ---------------------------------------------------------------------------------------------------
# Plugins a configuration can enable


def builtin_plugins() -> list[str]:
    """Every plugin shipped in this repository (entry points whose module lives under plugins/)."""
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group="difyd.plugins") if ep.value.startswith("plugins."))


def plugin_has_routes(name: str) -> bool:
    """Whether a built-in plugin already serves HTTP routes (benchmarks skip what is not built yet)."""
    path = REPO / "plugins" / name / "plugin.py"
    return path.exists() and "def route_handlers" in path.read_text()
