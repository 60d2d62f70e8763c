"""Benchmark what the compiled kernel costs to start: ``compile_scoring()`` on the shipped model,
the first time on a machine (numba compiles and writes its cache) and every time after (numba
imports and loads the cached machine code).

Each measurement is a fresh Python process: load the model, then time ``compile_scoring()``.
The cold runs point ``NUMBA_CACHE_DIR`` at a new empty directory (numba then compiles
everything, as on a fresh install); the warm runs reuse the directory the first cold run
filled. These are the figures behind ``tagger tag --compiled``'s help and the ``auto`` rule's
comment in ``tagger/bulk/scoring.py``.

Run: ``.venv/bin/python benchmarks/compile_time.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = REPO / "tagger" / "models" / "default"

PROBE = """
import json, sys, time
from tagger.artifact import load_model
tagger = load_model(sys.argv[1])
started = time.perf_counter()
why_not = tagger.estimator.compile_scoring()
print(json.dumps({"seconds": time.perf_counter() - started, "why_not": why_not}))
"""


def compile_seconds(model: Path, cache_dir: Path) -> float:
    """Seconds ``compile_scoring()`` takes in a new process using ``cache_dir``."""
    result = subprocess.run([sys.executable, "-c", PROBE, str(model)], cwd=REPO, check=True,
                            capture_output=True, text=True,
                            env={**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)})
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    if measured["why_not"]:
        raise SystemExit(f"the kernel cannot be used here: {measured['why_not']}")
    return measured["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tagger-numba-") as temp:
        cold = []
        for run in range(args.runs):
            cache = Path(temp) / f"cold{run}"
            cache.mkdir()
            cold.append(compile_seconds(args.model, cache))
        warm = [compile_seconds(args.model, Path(temp) / "cold0") for _ in range(args.runs)]
    print(f"load average {os.getloadavg()[0]:.2f}")
    for name, values in (("first time (empty cache)", cold), ("cached", warm)):
        print(f"{name:26} median {statistics.median(values):6.2f} s   "
              f"runs {' / '.join(f'{v:.2f}' for v in values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
