"""Admin commands: accounts, workspaces, memberships, apps, demo data, jobs.

Every write goes through ``core.domain.services``; every refusal is a one-line error (exit status 1),
never a traceback (``core.admin.runner`` sees to that).
"""

from __future__ import annotations

import click


def admin_commands() -> list[click.Command]:
    """The admin commands ``difyd`` adds to its root group."""
    # Imported here: each module is named after the command it holds, which a package-level import
    # would shadow.
    from core.admin.accounts import accounts
    from core.admin.apps import apps
    from core.admin.demo import demo
    from core.admin.jobs import jobs
    from core.admin.members import members
    from core.admin.workspaces import workspaces

    return [accounts, workspaces, members, apps, demo, jobs]
