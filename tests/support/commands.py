"""Running a command as a test step: its output, or a failure that shows what it printed."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_checked(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run ``args``; return stdout, or fail the test with the end of both streams."""
    done = subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout
