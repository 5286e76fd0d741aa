"""cli_commands / migration_locations, through the real ``difyd`` command and an installed plugin package."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from core.testing.fixtures import PG_ADMIN_URL, SECRET
from tests.support.probes import clean_environ, install_plugin_package, run_difyd, write_config

pytestmark = pytest.mark.slow

CLI_PLUGIN = """
    import click

    from core.hookspecs import hookimpl


    @click.command("probe-greet")
    @click.option("--name", default="world")
    def greet(name: str) -> None:
        \"\"\"Say hello from the probe plugin.\"\"\"
        click.echo(f"probe greets {name}")


    @hookimpl
    def cli_commands():
        return [greet]
"""

MIGRATION_PLUGIN = """
    from pathlib import Path

    from core.hookspecs import hookimpl


    @hookimpl
    def migration_locations():
        return [Path(__file__).with_name("probe_migrations")]
"""

MIGRATION = '''
import sqlalchemy as sa
from alembic import op

revision = "probe_0001"
down_revision = None
branch_labels = ("probe",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "probe_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Uuid(), sa.ForeignKey("accounts.id"), nullable=True),
        sa.Column("note", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("probe_notes")
'''


def _config(tmp_path: Path, enabled: list[str], database_url: str) -> Path:
    return write_config(tmp_path / "difyd.toml", f"""
        data_dir = "{tmp_path / 'data'}"
        secret_key = "{SECRET}"
        [database]
        url = "{database_url}"
        [plugins]
        enabled = {enabled!r}
    """)


def _env(package: Path, config: Path) -> dict[str, str]:
    return clean_environ(PYTHONPATH=str(package), DIFYD_CONFIG=str(config))


def test_hook_cli_commands(tmp_path):
    """An enabled plugin's command appears in ``difyd --help`` and runs; a disabled one's does not."""
    package = install_plugin_package(tmp_path / "site", "probe", CLI_PLUGIN)
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    env = _env(package, _config(tmp_path, ["probe"], sqlite))

    help_text = run_difyd("--help", env=env)
    assert help_text.returncode == 0, help_text.stderr
    assert "probe-greet" in help_text.stdout
    assert "Say hello from the probe plugin." in help_text.stdout
    greeting = run_difyd("probe-greet", "--name", "Ada", env=env)
    assert (greeting.returncode, greeting.stdout) == (0, "probe greets Ada\n")

    disabled = _env(package, _config(tmp_path, [], sqlite))
    assert "probe-greet" not in run_difyd("--help", env=disabled).stdout


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


async def _tables_and_heads(database_url: str) -> tuple[set[str], set[str]]:
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        heads = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    await engine.dispose()
    return tables, heads


async def test_hook_migration_locations(tmp_path, empty_database_url):
    """``difyd database upgrade`` applies an enabled plugin's own migration branch after the core's."""
    package = install_plugin_package(tmp_path / "site", "probe", MIGRATION_PLUGIN)
    (package / "probe_migrations").mkdir()
    (package / "probe_migrations" / "probe_0001_notes.py").write_text(MIGRATION)

    without = run_difyd("database", "upgrade", env=_env(package, _config(tmp_path, [], empty_database_url)))
    assert without.returncode == 0, without.stderr
    tables, heads = await _tables_and_heads(empty_database_url)
    assert "accounts" in tables and "probe_notes" not in tables  # a disabled plugin migrates nothing

    enabled = _env(package, _config(tmp_path, ["probe"], empty_database_url))
    upgrade = run_difyd("database", "upgrade", env=enabled)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "applied 1 migration(s): probe_0001" in upgrade.stdout
    tables, heads = await _tables_and_heads(empty_database_url)
    assert {"accounts", "probe_notes"} <= tables
    assert "probe_0001" in heads
