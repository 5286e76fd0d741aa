"""Where the benchmarks run and how hard: repository paths, the ``BENCH_*`` environment knobs, the fixed
addresses of PostgreSQL and the private Redis, and the password of the seeded accounts.

Importing it also puts the repository first on ``sys.path`` (see below), which must happen before anything
imports ``core``: every bench module that leads there (``seed.py``, ``harness.py``) imports this one first.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
DIFYD = BIN / "difyd"
RESULTS_DIR = REPO / "bench" / "results"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SHARED_REDIS_PORT = 6379
PRIVATE_REDIS_PORT = 5179

# The repository first on the path: the benchmark reads the tree it sits in, even if the editable
# install is being rebuilt meanwhile.
SOURCE_PATHS = (str(REPO), str(REPO / "examples" / "hello_plugin"))
for _path in reversed(SOURCE_PATHS):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Knobs (environment): every run is bounded; the defaults keep `make bench` well under 10 minutes.
DURATION = float(os.environ.get("BENCH_DURATION", "10"))  # seconds per wrk run
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
SHARED_REDIS = os.environ.get("BENCH_SHARED_REDIS", "") == "1"
KEEP_DB = os.environ.get("BENCH_KEEP_DB", "") == "1"
# BENCH_PROFILE=<text>: py-spy samples the server during every wrk run whose label contains <text>
# (collapsed stacks into bench/results/profile-<label>.txt; `pip install py-spy` first).
PROFILE = os.environ.get("BENCH_PROFILE", "")
# BENCH_SERVER_SOURCE=<a checkout of another commit> runs the server (and its migrations) from that
# tree, to measure a change against the code before it with the same harness on the same machine.
SERVER_SOURCE = os.environ.get("BENCH_SERVER_SOURCE")

# Every seeded account that signs in with a password uses this one.
PASSWORD = "correct horse battery staple"
