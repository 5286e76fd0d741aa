"""Settings: the TOML file, the environment on top, Dify's names, and the secret key."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import msgspec
import pytest

from core.plugins import load_plugins, plugin_env_aliases
from core.settings import (
    DEFAULT_CONFIG,
    REPO_ROOT,
    Settings,
    SettingsError,
    dotted_to_env,
    load_settings,
    read_toml,
    validate_tree,
)
from tests.support.probes import write_config

PRODUCTION_EXAMPLE = REPO_ROOT / "config" / "production.example.toml"
CONFIG_README = REPO_ROOT / "config" / "README.md"


def _load(tmp_path: Path, path: Path | None = None, **environ: str) -> Settings:
    """Load like the server does, with a private data folder and exactly this environment."""
    environ.setdefault("DIFYD_DATA_DIR", str(tmp_path / "data"))
    return load_settings(path, environ=environ, plugin_aliases=plugin_env_aliases())


def _config(tmp_path: Path, body: str, name: str = "difyd.toml") -> Path:
    return write_config(tmp_path / name, body)


def test_default_config_is_the_embedded_default(tmp_path):
    """With no file named, config/default.toml runs one process: SQLite, in-memory state and jobs."""
    settings = _load(tmp_path)
    assert settings.mode == "embedded"
    assert settings.database.url.startswith("sqlite+aiosqlite:///")
    assert (settings.state.backend, settings.jobs.backend) == ("memory", "inprocess")
    assert settings.plugins.enabled == ["oauth_device", "openapi_apps", "app_assets"]


def test_default_config_file_repeats_the_code_defaults():
    """config/default.toml says exactly what the Structs default to (one source of truth, written out)."""
    assert validate_tree(read_toml(DEFAULT_CONFIG)) == Settings()


def test_production_example_selects_postgres_redis_and_workers(tmp_path):
    """The production example validates and selects PostgreSQL, Redis state and saq workers."""
    public = {"CONSOLE_WEB_URL": "https://dify.acme.io", "CONSOLE_API_URL": "https://dify.acme.io"}
    settings = _load(tmp_path, PRODUCTION_EXAMPLE, SECRET_KEY="s" * 48, **public)
    assert settings.mode == "production"
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert (settings.state.backend, settings.jobs.backend) == ("redis", "saq")
    # Its plugin sections are valid too.
    load_plugins(settings.plugins.enabled, settings.plugins.blocked, settings.plugin)


def test_production_without_secret_key_refuses_to_start(tmp_path):
    """Production mode with no SECRET_KEY stops with a message saying how to set it, and writes no key."""
    public = {"CONSOLE_WEB_URL": "https://dify.acme.io", "CONSOLE_API_URL": "https://dify.acme.io"}
    with pytest.raises(SettingsError, match="SECRET_KEY is not set"):
        _load(tmp_path, PRODUCTION_EXAMPLE, **public)
    assert not (tmp_path / "data" / "secret_key").exists()


def test_production_without_console_web_url_refuses_to_start(tmp_path):
    """Production needs its public address: links people open are built from it, never from a
    request's Host header. Without it, startup stops and says which variable to set."""
    with pytest.raises(SettingsError, match=r"console_web_url is not set.*CONSOLE_WEB_URL"):
        _load(tmp_path, PRODUCTION_EXAMPLE, SECRET_KEY="s" * 40, CONSOLE_WEB_URL="")


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({}, "console_web_url"),  # the example file as copied
        ({"CONSOLE_WEB_URL": "https://dify.acme.io"}, "console_api_url"),
        ({"CONSOLE_WEB_URL": "https://console.test", "CONSOLE_API_URL": "https://x.io"}, "console_web_url"),
    ],
)
def test_production_refuses_the_examples_placeholder_addresses(tmp_path, environ, key):
    """dify.example.com would become the /device link every difyctl user is shown: refused at start."""
    with pytest.raises(SettingsError, match=rf"^{key} is still the example's placeholder"):
        _load(tmp_path, PRODUCTION_EXAMPLE, SECRET_KEY="s" * 40, **environ)


def test_embedded_secret_key_is_generated_once_and_kept(tmp_path):
    """Embedded mode generates a key into the data folder (mode 0600) and reuses it after a restart."""
    first = _load(tmp_path)
    key_file = tmp_path / "data" / "secret_key"
    assert len(first.secret_key) >= 32
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _load(tmp_path).secret_key == first.secret_key  # the "restart"


def test_given_secret_key_is_used_and_nothing_is_generated(tmp_path):
    """A SECRET_KEY from the environment wins and no key file appears."""
    assert _load(tmp_path, SECRET_KEY="from-env").secret_key == "from-env"
    assert not (tmp_path / "data" / "secret_key").exists()


def test_config_flag_wins_over_difyd_config(tmp_path):
    """An explicit path (--config) is read instead of DIFYD_CONFIG, which is read instead of the default."""
    flag = _config(tmp_path, "[server]\nport = 6001\n", "flag.toml")
    env = _config(tmp_path, "[server]\nport = 6002\n", "env.toml")
    assert _load(tmp_path, flag, DIFYD_CONFIG=str(env)).server.port == 6001
    assert _load(tmp_path, None, DIFYD_CONFIG=str(env)).server.port == 6002
    assert _load(tmp_path, None).server.port == 5001


def test_missing_or_broken_config_file_is_reported(tmp_path):
    """A missing file or invalid TOML stops startup with the file's path."""
    with pytest.raises(SettingsError, match="config file not found"):
        _load(tmp_path, tmp_path / "nope.toml")
    broken = _config(tmp_path, "[server\nport = 1\n")
    with pytest.raises(SettingsError, match=f"config file {broken} is not valid TOML"):
        _load(tmp_path, broken)


def test_environment_overrides_file_keys_by_the_naming_rule(tmp_path):
    """DIFYD_<SECTION>__<KEY> overrides the file; values take the setting's type, lists split at commas."""
    config = _config(tmp_path, "[server]\nport = 6001\n[bearer]\nenabled = true\n")
    settings = _load(
        tmp_path,
        config,
        DIFYD_SERVER__PORT="7001",
        DIFYD_BEARER__ENABLED="false",
        DIFYD_HTTP__CORS_ALLOW_ORIGINS="https://a.example, https://b.example",
        DIFYD_PLUGINS__ENABLED="openapi_apps",
        DIFYD_LOG__LEVEL="DEBUG",
    )
    assert settings.server.port == 7001
    assert settings.bearer.enabled is False
    assert settings.http.cors_allow_origins == ["https://a.example", "https://b.example"]
    assert settings.plugins.enabled == ["openapi_apps"]
    assert settings.log.level == "DEBUG"


DIFY_NAMES = [
    ("SECRET_KEY", "k" * 40, lambda s: s.secret_key, "k" * 40),
    ("CONSOLE_WEB_URL", "https://dify.example", lambda s: s.console_web_url, "https://dify.example"),
    ("CONSOLE_API_URL", "https://api.example", lambda s: s.console_api_url, "https://api.example"),
    ("ENABLE_OAUTH_BEARER", "false", lambda s: s.bearer.enabled, False),
    ("OPENAPI_RATE_LIMIT_PER_TOKEN", "5", lambda s: s.bearer.rate_limit_per_token, 5),
    (
        "OPENAPI_CORS_ALLOW_ORIGINS",
        "https://x.example,https://y.example",
        lambda s: s.http.cors_allow_origins,
        ["https://x.example", "https://y.example"],
    ),
]


@pytest.mark.parametrize(("name", "raw", "read", "expected"), DIFY_NAMES, ids=[n[0] for n in DIFY_NAMES])
def test_dify_environment_names_are_honoured(tmp_path, name, raw, read, expected):
    """Dify's own environment variable names set the matching difyd settings."""
    assert read(_load(tmp_path, **{name: raw})) == expected


@pytest.mark.parametrize(
    ("environ", "read", "expected"),
    [
        ({"OAUTH_TTL_DAYS": "30"}, lambda s: int(s.ttl_days), 30),
        (
            {"OPENAPI_KNOWN_CLIENT_IDS": "difyctl, my-cli"},
            lambda s: sorted(s.client_ids),
            ["difyctl", "my-cli"],
        ),
        ({"DIFYD_PLUGINS__OAUTH_DEVICE__TTL_DAYS": "7"}, lambda s: int(s.ttl_days), 7),
    ],
    ids=["OAUTH_TTL_DAYS", "OPENAPI_KNOWN_CLIENT_IDS", "difyd-name"],
)
def test_oauth_device_environment_names(tmp_path, environ, read, expected):
    """Dify's OAUTH_TTL_DAYS and OPENAPI_KNOWN_CLIENT_IDS reach the oauth_device plugin's settings."""
    settings = _load(tmp_path, **environ)
    loaded = load_plugins(settings.plugins.enabled, settings.plugins.blocked, settings.plugin)
    assert read(loaded.settings_for("oauth_device")) == expected


def test_difyd_name_wins_over_the_dify_alias(tmp_path):
    """When both are set, DIFYD_BEARER__RATE_LIMIT_PER_TOKEN wins over OPENAPI_RATE_LIMIT_PER_TOKEN."""
    settings = _load(tmp_path, OPENAPI_RATE_LIMIT_PER_TOKEN="5", DIFYD_BEARER__RATE_LIMIT_PER_TOKEN="9")
    assert settings.bearer.rate_limit_per_token == 9


def test_bad_environment_value_names_the_key_the_type_and_the_variable(tmp_path):
    """A value of the wrong type stops startup saying which key, what was expected and which variable."""
    with pytest.raises(SettingsError) as caught:
        _load(tmp_path, DIFYD_SERVER__PORT="eighty")
    assert str(caught.value) == (
        "invalid setting server.port: expected `int`, got `str` (set by environment DIFYD_SERVER__PORT)"
    )
    with pytest.raises(SettingsError, match=r"bearer\.enabled: expected `bool`.*ENABLE_OAUTH_BEARER"):
        _load(tmp_path, ENABLE_OAUTH_BEARER="maybe")


def test_bad_file_value_names_the_key(tmp_path):
    """A wrong type or an unknown key in the file names the dotted key."""
    expected = r"state\.backend: invalid enum value 'memcached'; expected one of 'memory', 'redis'"
    with pytest.raises(SettingsError, match=expected):
        _load(tmp_path, _config(tmp_path, '[state]\nbackend = "memcached"\n'))
    with pytest.raises(SettingsError, match=r"invalid setting server.prot: not a known setting"):
        _load(tmp_path, _config(tmp_path, "[server]\nprot = 1\n"))


def test_unknown_difyd_variable_is_an_error_but_reserved_names_are_not(tmp_path):
    """A misspelt DIFYD_ variable stops startup; DIFYD_CONFIG and DIFYD_TEST_* are not settings."""
    with pytest.raises(SettingsError, match=r"server\.prot: not a known setting \(.* DIFYD_SERVER__PROT\)"):
        _load(tmp_path, DIFYD_SERVER__PROT="1")
    assert _load(tmp_path, DIFYD_TEST_BACKENDS="sqlite", DIFYD_CONFIG=str(DEFAULT_CONFIG)).mode == "embedded"


# --- config/README.md documents every setting ---


def _leaf_settings(struct_type: type, prefix: str = "") -> dict[str, Any]:
    """Every key of the Settings tree with its default, dotted (``server.port``)."""
    out: dict[str, Any] = {}
    defaults = struct_type()
    for field in msgspec.structs.fields(struct_type):
        value = getattr(defaults, field.name)
        key = prefix + field.name
        if isinstance(value, msgspec.Struct):
            out.update(_leaf_settings(type(value), key + "."))
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("key", sorted(_leaf_settings(Settings)))
def test_every_setting_is_documented_with_default_and_environment_name(key):
    """config/README.md has a row per key: the key, its default and its DIFYD_ environment name."""
    default = msgspec.json.encode(_leaf_settings(Settings)[key]).decode()
    table = CONFIG_README.read_text().split("## Every setting", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith(f"| `{key}` |")]
    assert rows, f"config/README.md lacks a row for `{key}`"
    assert f"`{default}`" in rows[0], f"row for `{key}` should show the default `{default}`"
    if key != "plugin":
        assert dotted_to_env(key) in rows[0]


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://difyd:pw@db:5432/difyd", "postgresql+asyncpg://difyd:pw@db:5432/difyd"),
        ("postgres://difyd@db/difyd", "postgresql+asyncpg://difyd@db/difyd"),
        ("sqlite:///difyd.sqlite3", "sqlite+aiosqlite:///difyd.sqlite3"),
        ("postgresql+asyncpg://db/x", "postgresql+asyncpg://db/x"),
    ],
)
def test_difys_database_url_spellings_use_the_async_drivers(tmp_path, given, used):
    """Dify's DATABASE_URL (postgresql://) used to fail with a 72-line psycopg2 traceback."""
    assert _load(tmp_path, DATABASE_URL=given).database.url == used


@pytest.mark.parametrize(
    ("given", "shown"), [("mysql://u:secret@h/db", "scheme 'mysql'"), ("notaurl", "no scheme")]
)
def test_other_database_urls_are_one_line_naming_the_key_never_the_password(tmp_path, given, shown):
    with pytest.raises(SettingsError) as caught:
        _load(tmp_path, DATABASE_URL=given)
    message = str(caught.value)
    assert message == (
        "invalid setting database.url: expected postgresql://user:password@host:5432/db or sqlite:///path, "
        f"got a URL with {shown} (set by environment DATABASE_URL)"
    )
    assert "secret" not in message
