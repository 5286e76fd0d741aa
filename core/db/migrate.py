"""Apply every migration head: core's branch and one branch per enabled plugin."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from core.plugins import LoadedPlugins, each_flattened
from core.settings import Settings, resolved_database_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(settings: Settings, plugins: LoadedPlugins) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions")]
    locations += [str(path) for _, path in each_flattened(plugins, "migration_locations")]
    # alembic splits version_locations on the separator; os.pathsep is safe for absolute paths.
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", ":".join(locations))
    config.set_main_option("sqlalchemy.url", resolved_database_url(settings).replace("%", "%%"))
    return config


def upgrade_all(settings: Settings, plugins: LoadedPlugins) -> None:
    """Equivalent of ``alembic upgrade heads`` over every branch."""
    command.upgrade(alembic_config(settings, plugins), "heads")
