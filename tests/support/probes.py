"""Probe plugins for hook tests: register one in-process, or install one as a real package.

``probe_app`` runs the host with probe plugin objects registered through ``build_plugins``'s
``extra_modules`` (exactly the code path of an installed plugin, minus the entry point).
``install_plugin_package`` writes a module plus a ``*.dist-info`` folder with an entry point in the
``difyd.plugins`` group: any interpreter with that folder on its path finds the plugin through
``importlib.metadata`` the way it finds a pip-installed one (used for subprocess ``difyd`` runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from core.app import create_app
from core.context import HostContext
from core.settings import DIFY_ENV_ALIASES
from core.testing.fixtures import host_for, serve

REPO_ROOT = Path(__file__).resolve().parents[2]
DIFYD = Path(sys.executable).with_name("difyd")


def probe_host(
    make_settings: Any, probes: Mapping[str, object], **overrides: Any
) -> AbstractAsyncContextManager[HostContext]:
    """``host_for`` with exactly these probes enabled (unless ``plugins.enabled`` is overridden)."""
    overrides.setdefault("plugins.enabled", list(probes))
    return host_for(make_settings(**overrides), probes)


@asynccontextmanager
async def probe_client(ctx: HostContext) -> AsyncIterator[httpx.AsyncClient]:
    """A test client over ``create_app(ctx=...)``, lifespan included (startup and shutdown hooks run)."""
    async with serve(create_app(ctx=ctx)) as client:
        yield client


def install_plugin_package(root: Path, entry_name: str, module_source: str, version: str = "0.0.1") -> Path:
    """Write ``<root>/<module>.py`` and its dist-info with a ``difyd.plugins`` entry point; return root."""
    module = f"probe_{entry_name}_plugin"
    dist = f"probe_{entry_name}_plugin-{version}.dist-info"
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(module_source))
    (root / dist).mkdir(exist_ok=True)
    (root / dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: probe-{entry_name}-plugin\nVersion: {version}\n"
    )
    (root / dist / "entry_points.txt").write_text(f"[difyd.plugins]\n{entry_name} = {module}\n")
    return root


def clean_environ(**extra: str) -> dict[str, str]:
    """The current environment without any setting (DIFYD_* or a Dify alias), plus ``extra``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DIFYD_") and name not in DIFY_ENV_ALIASES
    }
    env.update(extra)
    return env


def run_difyd(*args: str, env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``difyd`` command line as a user would."""
    return subprocess.run(
        [str(DIFYD), *args], env=dict(env), cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
        check=False,
    )


def write_config(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path
