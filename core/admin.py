"""Admin commands: accounts, workspaces, memberships, apps, demo data."""

from __future__ import annotations

from typing import Any


def admin_commands() -> list[Any]:
    return []
