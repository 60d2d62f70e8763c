"""Benchmark ``tagger ingest`` against plain ``tagger tag`` on the same input in the same run.

Input: the 176,332-abstract arXiv feed (``../shared/corpus/arxiv_feed.jsonl.gz`` by default;
read at run time, never copied into the repo). Each round runs, with ``--jobs 2``:

* ``tag``: ``tagger tag FEED --jobs 2 -o /dev/null`` (scoring and writing JSON Lines);
* ``ingest``: ``tagger ingest FEED --jobs 2 --db NEW.sqlite`` into a fresh SQLite file;
* ``reingest``: the same command again on that store (every paper unchanged: seen times only).

Wall time of the whole command (start-up and model loading included) and papers per second;
the load average before each run, since the machine is shared. The rounds interleave the
commands so a change in the machine's load touches all of them alike. Results:
``benchmarks/results/ingest.json``. Run: ``.venv/bin/python benchmarks/ingest.py [FEED]
[--rounds 2]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, machine, tagger_command, write_result  # noqa: E402

FEED = SHARED / "corpus" / "arxiv_feed.jsonl.gz"


def timed(command: list[str]) -> tuple[float, str]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    print(f"  {elapsed:6.1f} s  load {load:.1f}  {' '.join(command[1:3])}: {last}",
          flush=True)
    return elapsed, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("feed", nargs="?", type=Path, default=FEED)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if not args.feed.is_file():
        raise SystemExit(f"{args.feed}: not found (pass the feed's path)")
    tagger = tagger_command()
    with tempfile.TemporaryDirectory(prefix="tagger-ingest-") as temp:
        count = sum(1 for _ in subprocess.run(["zcat", "-f", str(args.feed)],
                                              capture_output=True).stdout.splitlines())
        runs: dict[str, list[float]] = {"tag": [], "ingest": [], "reingest": []}
        lines: dict[str, str] = {}
        loads = []
        for round_ in range(args.rounds):
            db = Path(temp) / f"stream-{round_}.sqlite"
            common = [str(args.feed), "--jobs", str(args.jobs), "--quiet"]
            loads.append(os.getloadavg()[0])
            for name, command in (
                    ("tag", [*tagger, "tag", *common, "-o", os.devnull]),
                    ("ingest", [*tagger, "ingest", *common, "--db", str(db)]),
                    ("reingest", [*tagger, "ingest", *common, "--db", str(db)])):
                elapsed, lines[name] = timed(command)
                runs[name].append(elapsed)
            size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-*"))
    result = {
        "what": f"tagger ingest vs tagger tag, --jobs {args.jobs}, {count:,} papers of "
                f"{args.feed.name}, SQLite, {args.rounds} interleaved rounds",
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": machine(), "load_before_rounds": loads, "papers": count,
        "database_bytes": size,
        **{name: {"seconds": [round(t, 2) for t in times],
                  "papers_per_second": [round(count / t) for t in times],
                  "median_papers_per_second": round(count / statistics.median(times)),
                  "last_line": lines[name]} for name, times in runs.items()},
    }
    path = write_result("ingest", result)
    for name in runs:
        print(f"{name:>9}: median {result[name]['median_papers_per_second']:,} papers/s "
              f"({', '.join(f'{r:,}' for r in result[name]['papers_per_second'])})")
    print(f"database {size / 2**20:.0f} MiB; written to {path}")


if __name__ == "__main__":
    main()
