"""Apply every migration head: core's branch and one branch per enabled plugin."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class UpgradeReport:
    applied: list[str]  # revision ids, in the order they ran
    parked: list[str]  # revisions of plugins not enabled, kept as they are


def upgrade_all(settings: Settings, plugins: LoadedPlugins) -> UpgradeReport:
    """Equivalent of ``alembic upgrade heads`` over every enabled branch."""
    config = alembic_config(settings, plugins)
    command.upgrade(config, "heads")
    return UpgradeReport(
        list(config.attributes.get("applied", [])), list(config.attributes.get("parked", []))
    )
