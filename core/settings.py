"""Settings: msgspec Structs filled from a TOML file, then overlaid with environment variables.

Naming rule for the environment: ``DIFYD_<SECTION>__<KEY>`` (double underscore between levels),
e.g. ``DIFYD_DATABASE__URL`` or ``DIFYD_SECRET_KEY``; a plugin's own section is
``DIFYD_PLUGINS__<PLUGIN>__<KEY>``. Dify's own names are honoured as aliases (``SECRET_KEY``,
``CONSOLE_WEB_URL``, ...; see ``DIFY_ENV_ALIASES``); a ``DIFYD_`` name wins over an alias. Lists are
comma-separated. Every key is documented in config/README.md.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

ENV_PREFIX = "DIFYD_"
CONFIG_ENV = "DIFYD_CONFIG"
# DIFYD_ names that are not settings: the config file selector and the test suite's own knobs.
RESERVED_ENV_PREFIXES = (CONFIG_ENV, "DIFYD_TEST_")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "default.toml"

# Dify environment names -> dotted setting path. Plugins add theirs through ``env_aliases`` on their
# settings Struct (a ClassVar mapping env name -> key inside the plugin's section).
DIFY_ENV_ALIASES: dict[str, str] = {
    "SECRET_KEY": "secret_key",
    "CONSOLE_WEB_URL": "console_web_url",
    "CONSOLE_API_URL": "console_api_url",
    "ENABLE_OAUTH_BEARER": "bearer.enabled",
    "OPENAPI_RATE_LIMIT_PER_TOKEN": "bearer.rate_limit_per_token",
    "OPENAPI_CORS_ALLOW_ORIGINS": "http.cors_allow_origins",
    "DATABASE_URL": "database.url",
    "REDIS_URL": "redis.url",
}


# A timeout: more than zero, at most ten minutes.
Seconds = Annotated[float, msgspec.Meta(gt=0, le=600)]


class SettingsError(Exception):
    """A configuration problem that stops the server from starting; the message says what to fix."""


class ServerSettings(msgspec.Struct, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 5001
    # Peers whose X-Forwarded-For headers are believed (exact IPs or CIDRs).
    trusted_proxies: list[str] = []
    # Those proxies are Cloudflare's, which set CF-Connecting-IP: believe it first. Off, the header is
    # ignored (any other proxy lets a client send it, and it would choose its own address).
    trust_cf_connecting_ip: bool = False
    # Bounds on what one connection may cost (core/http/protocol.py): a request's head must arrive
    # within header_timeout of the connection opening (or of the next request's first byte) and stay
    # under max_header_bytes (else 408 / 431); its body must have arrived body_timeout after the head
    # (else the connection closes); one address holds at most max_connections_per_ip connections
    # (trusted proxies excepted; 0: no cap; else 429); past max_concurrency requests in flight in a
    # process, new ones answer 503.
    header_timeout: Seconds = 10.0
    max_header_bytes: Annotated[int, msgspec.Meta(ge=4096)] = 64 * 1024
    body_timeout: Seconds = 30.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 1000
    max_connections_per_ip: Annotated[int, msgspec.Meta(ge=0)] = 100


class DatabaseSettings(msgspec.Struct, forbid_unknown_fields=True):
    # sqlite+aiosqlite:///<path> (embedded) or postgresql+asyncpg://... (production). A relative
    # SQLite path is resolved inside ``data_dir``.
    url: str = "sqlite+aiosqlite:///difyd.sqlite3"
    # Connections each process keeps open to PostgreSQL; a request waits for a free one rather than
    # opening and closing extra connections under load (that churn cost ~7% of CPU on the apps list).
    pool_size: int = 20
    # Bounds on every wait for the database in the API, so that an outage answers 503 fast instead
    # of hanging (seconds): opening a connection; one statement (asyncpg then waits as long again for
    # the cancellation); a free pooled connection; on SQLite, another writer's lock.
    # Worst case before a 503: pool_timeout + 2 x command_timeout = 2 s.
    connect_timeout: Seconds = 1.0
    command_timeout: Seconds = 0.75
    pool_timeout: Seconds = 0.5
    sqlite_busy_timeout: Seconds = 1.5
    # Workers and the command line answer nobody waiting: their statements and lock waits may take
    # this long (a purge batch, a large import).
    background_timeout: Seconds = 30.0
    echo: bool = False

    def __post_init__(self) -> None:
        """Dify's spellings (``postgresql://``, ``postgres://``, ``sqlite:///``) name the async driver
        this server uses; any other scheme is refused here, in one line, instead of a driver traceback.
        The URL itself is never repeated (it may hold a password)."""
        scheme, sep, rest = self.url.strip().partition("://")
        driver = _DATABASE_DRIVERS.get(scheme.lower()) if sep else None
        if driver is None:
            shown = f"scheme {scheme!r}" if sep else "no scheme"
            raise ValueError(
                "url: expected postgresql://user:password@host:5432/db or sqlite:///path, "
                f"got a URL with {shown}"
            )
        self.url = f"{driver}://{rest}"


# The schemes a database URL may have, and the async driver each means.
_DATABASE_DRIVERS = {
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "sqlite": "sqlite+aiosqlite",
}


class RedisSettings(msgspec.Struct, forbid_unknown_fields=True):
    url: str = "redis://127.0.0.1:6379/0"
    # Seconds to open a connection and to wait for one answer of the state store: a refused or
    # frozen Redis answers 503 within these bounds instead of hanging the request.
    connect_timeout: Seconds = 1.0
    socket_timeout: Seconds = 0.5


class StateSettings(msgspec.Struct, forbid_unknown_fields=True):
    backend: Literal["memory", "redis"] = "memory"
    # Prefix for every key this server writes, so several deployments can share one Redis.
    key_prefix: str = "difyd:"


class JobsSettings(msgspec.Struct, forbid_unknown_fields=True):
    backend: Literal["inprocess", "saq"] = "inprocess"
    queue: str = "difyd"
    # Concurrency of one saq worker process (or of the in-process runner).
    concurrency: int = 10


class BearerSettings(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool = True
    rate_limit_per_token: int = 60  # requests per minute per token; 0 disables
    positive_cache_seconds: int = 60
    negative_cache_seconds: int = 10
    # Per-process near cache in front of the state store; 0 disables. Another replica may accept a
    # just-revoked token for at most this long (the revoking replica forgets at once).
    local_cache_seconds: float = 1.0
    local_cache_size: int = 10000  # tokens per process; the oldest goes when full
    # Rejected tokens per minute from one address before its unknown tokens are refused (429) without
    # a lookup for a minute; tokens already in the cache keep working. 0 disables.
    rejected_limit_per_ip: int = 300


class ConsoleSettings(msgspec.Struct, forbid_unknown_fields=True):
    session_minutes: int = 60 * 24
    edition: str = "SELF_HOSTED"
    login_limit_per_ip: int = 20  # attempts per 15 minutes
    login_limit_per_account: int = 10  # attempts per 15 minutes


class HttpSettings(msgspec.Struct, forbid_unknown_fields=True):
    cors_allow_origins: list[str] = []
    metrics_enabled: bool = True
    # Largest request body read (bytes); past it the answer is 413 before anything is decoded.
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1024 * 1024


class LogSettings(msgspec.Struct, forbid_unknown_fields=True):
    level: str = "INFO"
    json: bool = False


# The community plugins; sso_enterprise is opt-in.
DEFAULT_PLUGINS = ("oauth_device", "openapi_apps", "app_assets")


class PluginsSettings(msgspec.Struct, forbid_unknown_fields=True):
    # Which plugins run. Every name must be an installed plugin (entry point group "difyd.plugins").
    enabled: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_PLUGINS))
    blocked: list[str] = []


class Settings(msgspec.Struct, forbid_unknown_fields=True):
    mode: Literal["embedded", "production"] = "embedded"
    data_dir: str = ".data"
    secret_key: str = ""
    # Retired secret keys: what they signed or sealed still verifies and opens (core.keys); nothing
    # new is signed with them. Drop one once nothing it signed can still be presented.
    previous_secret_keys: list[str] = []
    console_web_url: str = ""
    console_api_url: str = ""
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    state: StateSettings = msgspec.field(default_factory=StateSettings)
    jobs: JobsSettings = msgspec.field(default_factory=JobsSettings)
    bearer: BearerSettings = msgspec.field(default_factory=BearerSettings)
    console: ConsoleSettings = msgspec.field(default_factory=ConsoleSettings)
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    log: LogSettings = msgspec.field(default_factory=LogSettings)
    plugins: PluginsSettings = msgspec.field(default_factory=PluginsSettings)
    # Raw per-plugin sections ([plugin.<name>] in TOML); validated against each plugin's Struct.
    plugin: dict[str, dict[str, Any]] = {}

    @property
    def data_path(self) -> Path:
        """A relative ``data_dir`` is relative to the working directory (``make run`` runs from the
        checkout; an installed package must never write inside site-packages)."""
        path = Path(self.data_dir)
        return path if path.is_absolute() else Path.cwd() / path

    @property
    def secret_keys(self) -> list[str]:
        """The key that signs, then the retired ones that still verify."""
        return [self.secret_key, *(key for key in self.previous_secret_keys if key)]

    @property
    def public_web_url(self) -> str:
        """Where people reach the web pages (links the server hands out), without a trailing slash.

        Always from configuration, never from a request's Host header (which the client chooses):
        ``console_web_url``, else this server's own bind address (the embedded default; production
        refuses to start without ``console_web_url``).
        """
        return (self.console_web_url.strip() or self.bind_url).rstrip("/")

    @property
    def public_api_url(self) -> str:
        """Where clients reach the API (the OAuth issuer): ``console_api_url``, else ``public_web_url``."""
        return (self.console_api_url.strip() or self.public_web_url).rstrip("/")

    @property
    def bind_url(self) -> str:
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding to it
            host = "127.0.0.1"  # listening everywhere: loopback is one of the places
        return f"http://[{host}]:{self.server.port}" if ":" in host else f"http://{host}:{self.server.port}"

    @property
    def uses_https(self) -> bool:
        return self.console_web_url.startswith("https://") and self.console_api_url.startswith("https://")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_env_value(raw: str, target: msgspec.inspect.Type | None) -> Any:
    """Environment values are strings; shape one like the setting it replaces (unknown types stay strings).

    A value that does not parse is returned unchanged so that validation names the key and the type.
    """
    if isinstance(target, msgspec.inspect.UnionType):
        # ``int | None`` and the like: shape for the first concrete member.
        target = next((t for t in target.types if not isinstance(t, msgspec.inspect.NoneType)), None)
    if isinstance(target, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.VarTupleType):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if isinstance(target, msgspec.inspect.BoolType):
        lowered = raw.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else raw
    if isinstance(target, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        try:
            return (int if isinstance(target, msgspec.inspect.IntType) else float)(raw.strip())
        except ValueError:
            return raw
    return raw


def field_types(struct_type: type) -> dict[str, msgspec.inspect.Type]:
    """The declared type of every field of a settings Struct, by name."""
    info = msgspec.inspect.type_info(struct_type)
    assert isinstance(info, msgspec.inspect.StructType)
    return {field.name: field.type for field in info.fields}


def _type_at(dotted: str, root: type | None = None) -> msgspec.inspect.Type | None:
    node: msgspec.inspect.Type | None = msgspec.inspect.type_info(root or Settings)
    for part in dotted.split("."):
        if not isinstance(node, msgspec.inspect.StructType):
            return None  # inside [plugin.<name>]: the plugin's Struct shapes it (core.plugins)
        node = next((field.type for field in node.fields if field.name == part), None)
    return node


def _set_path(tree: dict[str, Any], dotted: str, raw: str) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = parse_env_value(raw, _type_at(dotted))


def env_to_dotted(name: str) -> str | None:
    """``DIFYD_SERVER__PORT`` -> ``server.port``; ``DIFYD_PLUGINS__HELLO__X`` -> ``plugin.hello.x``.

    None for names that are not settings (other prefixes, ``DIFYD_CONFIG``, ``DIFYD_TEST_*``).
    """
    if not name.startswith(ENV_PREFIX) or name.startswith(RESERVED_ENV_PREFIXES):
        return None
    dotted = name[len(ENV_PREFIX) :].lower().replace("__", ".")
    if dotted.startswith("plugins.") and dotted.count(".") >= 2:
        # DIFYD_PLUGINS__<NAME>__<KEY> addresses a plugin's own section.
        _, plugin_name, rest = dotted.split(".", 2)
        dotted = f"plugin.{plugin_name}.{rest}"
    return dotted


def dotted_to_env(dotted: str) -> str:
    """The ``DIFYD_`` environment name of a setting (the inverse of ``env_to_dotted``)."""
    if dotted.startswith("plugin."):
        dotted = "plugins." + dotted[len("plugin.") :]
    return ENV_PREFIX + dotted.upper().replace(".", "__")


def apply_environment(
    tree: dict[str, Any],
    environ: Mapping[str, str],
    plugin_aliases: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Overlay environment variables on a raw settings tree (before validation); DIFYD_ names win."""
    aliases = {**DIFY_ENV_ALIASES, **(plugin_aliases or {})}
    for name, dotted in aliases.items():
        if name in environ:
            _set_path(tree, dotted, environ[name])
    for name, value in environ.items():
        setting = env_to_dotted(name)
        if setting is not None:
            _set_path(tree, setting, value)
    return tree


_ERROR_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")


def explain_validation_error(exc: msgspec.ValidationError, root: type) -> tuple[str, str]:
    """Split msgspec's message on ``root`` into (dotted key, what was expected).

    ``"Expected `int`, got `str` - at `$.server.port`"`` -> ``("server.port", "expected `int`, got `str`")``.
    """
    match = _ERROR_AT.match(str(exc))
    assert match is not None  # the pattern matches any text
    what, path = match["what"], (match["path"] or "").lstrip(".")
    unknown = _UNKNOWN_FIELD.match(what)
    if unknown:
        return ".".join(p for p in (path, unknown["field"]) if p), "not a known setting"
    what = what[:1].lower() + what[1:]
    choices = _type_at(path, root) if path else None
    if isinstance(choices, msgspec.inspect.LiteralType):
        what += f"; expected one of {', '.join(map(repr, choices.values))}"
    return path or "(top level)", what


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise SettingsError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc


_FIELD_FIRST = re.compile(r"^(?P<field>[a-z_]+): (?P<what>.+)$", re.DOTALL)


def validate_tree(tree: dict[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Validate a raw tree; an error names the key, what was expected and the variable that set it."""
    try:
        return msgspec.convert(tree, Settings, strict=False)
    except msgspec.ValidationError as exc:
        key, what = explain_validation_error(exc, Settings)
        # A section's own check (__post_init__) names its field first: "url: expected ...".
        field = _FIELD_FIRST.match(what)
        if field:
            key, what = f"{key}.{field['field']}", field["what"]
        sources = [name for name in (environ or {}) if _env_sets(name, key)]
        origin = f" (set by environment {', '.join(sorted(sources))})" if sources else ""
        raise SettingsError(f"invalid setting {key}: {what}{origin}") from exc


def _env_sets(name: str, key: str) -> bool:
    dotted = DIFY_ENV_ALIASES.get(name) or env_to_dotted(name)
    return dotted is not None and (dotted == key or key.startswith(dotted + "["))


def config_path(explicit: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    """The file named by ``--config`` or DIFYD_CONFIG; else the checkout's config/default.toml, which
    an installed package does not have: None then, and the code's defaults (which that file only
    writes out, a test keeps them equal) apply."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def read_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    plugin_aliases: Mapping[str, str] | None = None,
) -> Settings:
    """Read the TOML file, overlay the environment and validate; the secret key is left unsettled."""
    env = os.environ if environ is None else environ
    chosen = config_path(path, env)
    tree = read_toml(chosen) if chosen is not None else {}
    tree = apply_environment(tree, env, plugin_aliases)
    return validate_tree(tree, env)


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    plugin_aliases: Mapping[str, str] | None = None,
) -> Settings:
    """Read the TOML file, overlay the environment, validate, and settle the secret key."""
    settings = read_settings(path, environ, plugin_aliases)
    check_production(settings)
    return ensure_secret_key(settings)


# Hosts reserved for documentation (RFC 2606, RFC 6761): a value still holding one is a placeholder
# copied from an example file, and would put a link nobody can open in front of every user.
_PLACEHOLDER_HOST = re.compile(r"^(?:.+\.)?example(?:\.(?:com|net|org))?$|\.(?:example|invalid|test)$")


def _placeholder(url: str) -> bool:
    host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    return bool(host) and bool(_PLACEHOLDER_HOST.search(host))


def check_production(settings: Settings) -> None:
    """What production cannot run without, said at startup rather than discovered by a user."""
    if settings.mode != "production":
        return
    if not settings.console_web_url.strip():
        raise SettingsError(
            "console_web_url is not set: production mode needs the public address people open "
            "(links the server hands out are built from it, never from a request's Host header); "
            "set CONSOLE_WEB_URL, e.g. https://dify.your-company.com"
        )
    for key, env, value in (
        ("console_web_url", "CONSOLE_WEB_URL", settings.console_web_url),
        ("console_api_url", "CONSOLE_API_URL", settings.console_api_url),
    ):
        if _placeholder(value):
            raise SettingsError(
                f"{key} is still the example's placeholder {value!r}: difyctl would show people a link "
                f"to it; set {env} to this server's public address"
            )


def ensure_secret_key(settings: Settings) -> Settings:
    """Embedded mode generates a key once and keeps it in the data folder; production refuses."""
    if settings.secret_key:
        return settings
    if settings.mode == "production":
        raise SettingsError(
            "SECRET_KEY is not set: production mode refuses to start without it "
            "(set SECRET_KEY or secret_key in the config file)"
        )
    key_file = settings.data_path / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return msgspec.structs.replace(settings, secret_key=key_file.read_text().strip())


def resolved_database_url(settings: Settings) -> str:
    """A relative SQLite path lives in the data folder; every other URL is used as given."""
    url = settings.database.url
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix):
        raw = url[len(prefix) :]
        if raw and raw != ":memory:" and not raw.startswith("/"):
            settings.data_path.mkdir(parents=True, exist_ok=True)
            return prefix + str(settings.data_path / raw)
    return url
