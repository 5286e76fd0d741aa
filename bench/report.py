"""What a benchmark hands back: its figures against their targets, as a table on stdout and as
``bench/results/<name>.json`` (with every raw run and the machine they ran on), and its exit status.

``run_all.py`` reads those JSON files for its summary: the keys written here are its input.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knobs import CONNECTIONS, DURATION, PRIVATE_REDIS_PORT, REPO, RESULTS_DIR, SHARED_REDIS, THREADS
from measurement import Measurement
from progress import log


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str = ""
    ceiling: float | None = None
    target: str = ""
    passed: bool | None = None  # None: informational (or not measured)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.ceiling:
            return None
        return self.value / self.ceiling


def check_ratio(name: str, m: Measurement | None, ceiling: float, minimum: float, note: str = "") -> Figure:
    """A throughput that must reach ``minimum`` times the ceiling of the same run."""
    if m is None:
        return Figure(name, None, "req/s", ceiling, f"ratio >= {minimum}", None, note or "not measured")
    ratio = m.rps / ceiling if ceiling else 0.0
    return Figure(name, m.rps, "req/s", ceiling, f"ratio >= {minimum}", ratio >= minimum, note)


def check_max(
    name: str, value: float | None, maximum: float, unit: str = "", note: str = "", inclusive: bool = True
) -> Figure:
    """A figure that must stay at or under ``maximum`` (strictly under when not ``inclusive``)."""
    op = "<=" if inclusive else "<"
    target = f"{op} {maximum:g}{unit and ' ' + unit}"
    if value is None:
        return Figure(name, None, unit, None, target, None, note or "not measured")
    ok = value <= maximum if inclusive else value < maximum
    return Figure(name, value, unit, None, target, ok, note)


def info(
    name: str, value: float | None, unit: str = "", note: str = "", ceiling: float | None = None
) -> Figure:
    """A figure without a target, shown for context."""
    return Figure(name, value, unit, ceiling, "", None, note)


# ---------------------------------------------------------------------------------------------------
# The table


def _format_value(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "req/s" or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}" if value else "0"
    return f"{text} {unit}".strip()


def print_table(title: str, figures: list[Figure], notes: list[str] | None = None) -> None:
    rows = [("figure", "value", "ceiling (same run)", "ratio", "target", "verdict")]
    for f in figures:
        verdict = "-" if f.passed is None else ("PASS" if f.passed else "FAIL")
        if f.value is None:
            verdict = "SKIPPED"
        rows.append(
            (
                f.name,
                _format_value(f.value, f.unit),
                _format_value(f.ceiling, "req/s") if f.ceiling else "",
                f"{f.ratio:.2f}" if f.ratio is not None else "",
                f.target,
                verdict + (f" ({f.note})" if f.note else ""),
            )
        )
    # The verdict column is last and not padded: its notes may be long.
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print(f"\n== {title} ==")
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
        if index == 0:
            print("  ".join("-" * w for w in widths) + "  -------")
    for note in notes or []:
        print(f"  * {note}")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------------
# The JSON results


def machine() -> dict[str, Any]:
    """What the figures depend on besides the code: CPUs, Python, commit, load settings, Redis."""
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "git": git.stdout.strip(),
        "duration_s": DURATION,
        "connections": CONNECTIONS,
        "threads": THREADS,
        "redis": "shared 6379" if SHARED_REDIS else f"private {PRIVATE_REDIS_PORT}",
    }


def write_results(name: str, figures: list[Figure], runs: dict[str, Any], notes: list[str]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "bench": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "figures": [{**f.__dict__, "ratio": f.ratio} for f in figures],
        "runs": runs,
        "notes": notes,
    }
    path.write_text(json.dumps(document, indent=2, default=str))
    log(f"results written to {path.relative_to(REPO)}")
    return path


def publish(name: str, title: str, figures: list[Figure], runs: dict[str, Any], notes: list[str]) -> int:
    """The table on stdout, the JSON results, and the script's exit status: 1 when a target was missed
    (``run_all.py`` reports "some targets missed"), else 0."""
    print_table(title, figures, notes)
    write_results(name, figures, runs, notes)
    return 0 if all(f.passed is not False for f in figures) else 1
