"""Optional py-spy sampling of the server during a run (``BENCH_PROFILE=<text>``), to see where its time
goes: collapsed stacks in ``bench/results/profile-<label>.txt``.

Off unless asked for, and only for the runs whose label contains the text: sampling costs the server CPU,
so a profiled run's figures are not the unprofiled ones.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator

from knobs import BIN, PROFILE, REPO, RESULTS_DIR
from processes import Server
from progress import log


def _start(server: Server, label: str, seconds: float) -> subprocess.Popen[bytes] | None:
    if not PROFILE or PROFILE.lower() not in label.lower() or server.process is None:
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / ("profile-" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + ".txt")
    log(f"profiling {label} -> {out.relative_to(REPO)}")
    return subprocess.Popen(
        [
            str(BIN / "py-spy"),
            "record",
            "-p",
            str(server.process.pid),
            "-d",
            str(int(seconds)),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def profiling(server: Server, label: str, seconds: float) -> Iterator[None]:
    """Sample ``server`` for ``seconds`` while the block runs, if BENCH_PROFILE selects ``label``; after
    the block, wait for py-spy to write its file (it records for a fixed time, like the load)."""
    profiler = _start(server, label, seconds)
    yield
    if profiler is not None:
        profiler.wait(timeout=60)
