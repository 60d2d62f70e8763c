"""Benchmark the small everyday job: ``tagger tag --text "..."`` on one abstract, wall time.

Runs the real console command (``.venv/bin/tagger``) repeatedly after one warm-up run (so the
disk cache is warm, as the target says) and reports the median, min and max wall time, plus
the CPU seconds (user + system) of each run, which a busy machine does not distort the way it
distorts wall time; the load average is printed next to the numbers for that reason.

Also times the same abstract as one JSON line on stdin and as plain text on stdin, and, with
``--importtime``, lists the slowest top-level imports of one run (``python -X importtime``).

Run: ``.venv/bin/python benchmarks/cli_startup.py [--runs 15] [--importtime]``.
The target (issue 12) is a median under 1.5 s wall.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ABSTRACT = ("We forecast seasonal sensor data with a state space model: a Kalman filter over "
            "the latent state gives calibrated forecasts over a long horizon on three "
            "benchmark data sets.")
TITLE = "Seasonal forecasting with state space models"


def tagger_command() -> list[str]:
    console = Path(sys.executable).parent / "tagger"
    return [str(console)] if console.exists() else [sys.executable, "-m", "tagger"]


def timed(command: list[str], stdin: str | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(name: str, command: list[str], runs: int, stdin: str | None = None) -> dict:
    timed(command, stdin)  # warm-up: disk cache, .pyc files
    walls, cpus = zip(*(timed(command, stdin) for _ in range(runs)), strict=True)
    return {"case": name, "runs": runs, "median_wall_s": round(statistics.median(walls), 3),
            "min_wall_s": round(min(walls), 3), "max_wall_s": round(max(walls), 3),
            "median_cpu_s": round(statistics.median(cpus), 3)}


def slowest_imports(command: list[str], top: int = 12) -> list[tuple[str, float]]:
    """Self time per top-level package of one run, from ``python -X importtime``."""
    python = [sys.executable, "-X", "importtime", "-m", "tagger", *command[1:]]
    if command[0] == sys.executable:
        python = [sys.executable, "-X", "importtime", *command[1:]]
    result = subprocess.run(python, capture_output=True, text=True, cwd=REPO)
    totals: collections.Counter = collections.Counter()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        totals[name.strip().split(".")[0]] += int(self_us)
    return [(name, us / 1e6) for name, us in totals.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per case (default 15)")
    parser.add_argument("--importtime", action="store_true",
                        help="also list the slowest imports of one run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    base = tagger_command()
    cases = [
        measure("--text", [*base, "tag", "--text", ABSTRACT, "--title", TITLE], args.runs),
        measure("stdin JSON line", [*base, "tag"], args.runs,
                stdin=json.dumps({"id": "1", "title": TITLE, "abstract": ABSTRACT}) + "\n"),
        measure("stdin plain text", [*base, "tag"], args.runs, stdin=f"{TITLE}\n{ABSTRACT}\n"),
    ]
    load = os.getloadavg()
    report = {"cases": cases, "load_average_1m": round(load[0], 2), "cpus": os.cpu_count(),
              "command": " ".join(base)}
    if args.importtime:
        report["slowest_imports_s"] = slowest_imports(
            [*base, "tag", "--text", ABSTRACT])
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"tagger tag on one abstract ({args.runs} runs each after a warm-up; load average "
          f"{load[0]:.2f} on {os.cpu_count()} CPUs)")
    print(f"{'case':18} {'median wall':>12} {'min':>7} {'max':>7} {'median CPU':>11}")
    for case in cases:
        print(f"{case['case']:18} {case['median_wall_s']:>11.3f}s {case['min_wall_s']:>6.3f}s "
              f"{case['max_wall_s']:>6.3f}s {case['median_cpu_s']:>10.3f}s")
    for name, seconds in report.get("slowest_imports_s", []):
        print(f"  import {name:20} {seconds:.3f}s")


if __name__ == "__main__":
    main()
