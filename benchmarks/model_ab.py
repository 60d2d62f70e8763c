"""Two model directories side by side: the compiled single-abstract path (CPU ms per
``Tagger.tag`` call, ``benchmarks/request_path.py``) and compiled bulk tagging with two jobs
(records per CPU-second and per second of ``tagger tag --jobs 2 --compiled on`` over 100,000
abstracts, ``benchmarks/bulk_tag.py``), interleaved for ``--rounds`` rounds so both see the
same machine. CPU-time figures are what a busy machine distorts least.

    .venv/bin/python benchmarks/model_ab.py OLD_MODEL_DIR NEW_MODEL_DIR [--rounds 2]

Writes ``benchmarks/results/model_ab.json`` and prints a markdown table (medians).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
COMPILED_ROW = re.compile(r"\| Tagger\.tag, one abstract \(compiled: the API's path\) \| "
                          r"([0-9.]+) ms \|")


def single_abstract_ms(model: Path) -> float:
    out = subprocess.run([PYTHON, str(HERE / "request_path.py"), "--model", str(model)],
                         capture_output=True, text=True, check=True).stdout
    match = COMPILED_ROW.search(out)
    if not match:
        raise RuntimeError(f"request_path.py printed no compiled row:\n{out}")
    return float(match.group(1))


def bulk(model: Path, records: int) -> dict:
    with tempfile.TemporaryDirectory() as temp:
        result = Path(temp) / "bulk.json"
        subprocess.run([PYTHON, str(HERE / "bulk_tag.py"), "--model", str(model), "--runs",
                        "jobs2-on", "--records", str(records), "--json", str(result)],
                       capture_output=True, text=True, check=True)
        run = json.loads(result.read_text())["runs"]["jobs2-on"]
    return {"records_per_s": run["records_per_s"], "records_per_cpu_s": run["records_per_cpu_s"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=HERE / "results" / "model_ab.json")
    args = parser.parse_args(argv)
    rows: dict[str, list[dict]] = {"old": [], "new": []}
    for round_ in range(args.rounds):
        for label, model in (("old", args.old), ("new", args.new)):
            row = {"single_abstract_cpu_ms": single_abstract_ms(model),
                   **bulk(model, args.records)}
            rows[label].append(row)
            print(f"round {round_ + 1} {label}: {row}", file=sys.stderr, flush=True)
    medians = {label: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for label, runs in rows.items()}
    report = {"old": str(args.old), "new": str(args.new), "rounds": rows, "medians": medians}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    old, new = medians["old"], medians["new"]
    print("| | old | new | new / old |\n|---|---:|---:|---:|")
    for key, label in (("single_abstract_cpu_ms", "one abstract, compiled (CPU ms)"),
                       ("records_per_cpu_s", "bulk --jobs 2 --compiled on (records/CPU-s)"),
                       ("records_per_s", "bulk --jobs 2 --compiled on (records/s)")):
        print(f"| {label} | {old[key]:,.3f} | {new[key]:,.3f} | {new[key] / old[key]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
