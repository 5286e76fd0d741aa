"""Run every benchmark (``make bench``): core (#2), device flow (#3), openapi read surface (#4), login
storm (#7).

Each script gets its own database, Redis and server and prints its own table; this prints a summary.
Knobs are environment variables (see bench/README.md); ``--only core,apps`` runs a subset.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "core": "core_bench.py",
    "device": "device_bench.py",
    "apps": "apps_bench.py",
    "login_storm": "login_storm_bench.py",
    "assets": "assets_bench.py",
}
TIMEOUT_S = 480  # per script; the defaults finish in well under that


def run_bounded(script: Path) -> int:
    """Run one script; past the time limit, terminate it (its stack then stops its servers and drops its
    database) before killing it."""
    process = subprocess.Popen([sys.executable, str(script)])
    try:
        return process.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only", default=",".join(SCRIPTS), help="comma-separated subset of: core,device,apps"
    )
    names = [name.strip() for name in parser.parse_args().only.split(",") if name.strip()]
    started = time.perf_counter()
    outcomes: dict[str, str] = {}
    for name in names:
        script = HERE / SCRIPTS[name]
        (HERE / "results" / f"{name}.json").unlink(missing_ok=True)  # no stale figures in the summary
        began = time.perf_counter()
        try:
            code = run_bounded(script)
            if not (HERE / "results" / f"{name}.json").exists():
                outcomes[name] = f"crashed (exit {code}): see its output above"
            else:
                outcomes[name] = "all targets met" if code == 0 else "some targets missed"
        except subprocess.TimeoutExpired:
            outcomes[name] = f"timed out after {TIMEOUT_S} s"
        outcomes[name] += f" ({time.perf_counter() - began:.0f} s)"
    print("\n== summary ==")
    for name, outcome in outcomes.items():
        print(f"  {name:7s} {outcome}")
        results = HERE / "results" / f"{name}.json"
        if results.exists():
            for figure in json.loads(results.read_text())["figures"]:
                if figure["passed"] is False:
                    value = figure["value"] if figure["ratio"] is None else f"ratio {figure['ratio']:.2f}"
                    print(f"          FAIL {figure['name'].strip()}: {value} (target {figure['target']})")
    print(f"  total {time.perf_counter() - started:.0f} s; results in bench/results/*.json")
    return 0 if all(outcome.startswith("all") for outcome in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
