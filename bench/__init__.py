"""The benchmarks: scripts run by path (``.venv/bin/python bench/core_bench.py``), see README.md.

A script's own folder comes first on ``sys.path``, so the bench modules import each other by bare name
(``from harness import Stack``). Importing one as ``bench.<module>`` (``python -c "import bench.harness"``)
puts the folder first too, so that those imports resolve to the same files.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
