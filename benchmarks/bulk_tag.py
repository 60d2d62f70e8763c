"""Benchmark ``tagger tag`` at scale: records/s and peak memory of the whole process tree.

Builds a corpus of at least 100,000 abstracts by repeating ``../shared/corpus/unlabelled.jsonl``
with fresh ids (in a temporary directory, never in the repo), then runs the real CLI for
``--jobs 1``, ``--jobs 2`` and ``--engine dask`` (a 2-worker local cluster), sampling every
process of the tree (CLI, pool or Dask workers, nannies) with psutil:

* peak RSS: the largest sum of the processes' resident sets seen at one time; forked workers
  share the parent's library pages, which this counts once per process (an upper bound);
* peak PSS: the same with shared pages divided among the processes sharing them (what the
  tree really costs the machine);
* CPU seconds of the tree (``RUSAGE_CHILDREN``; Dask workers only as far as they are reaped
  by their nannies) and records per CPU-second, which a busy machine does not distort.

Also times the stages of one process on 2,000 abstracts (read, features, classifier, output)
so a slow stage is visible. Run: ``.venv/bin/python benchmarks/bulk_tag.py`` (``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
RUNS = {
    "jobs1": ["--jobs", "1"],
    "jobs2": ["--jobs", "2"],
    "dask2": ["--engine", "dask", "--jobs", "2"],
    # the scoring path forced either way (the three above use --compiled auto)
    **{f"jobs{n}-{mode}": ["--jobs", str(n), "--compiled", mode]
       for n in (1, 2) for mode in ("on", "off")},
}
MAX_ABSTRACT_CHARS = 1_000_000
LABELS = {"jobs1": "`--jobs 1`", "jobs2": "`--jobs 2`", "dask2": "`--engine dask` (2 workers)",
          **{f"jobs{n}-{mode}": f"`--jobs {n} --compiled {mode}`"
             for n in (1, 2) for mode in ("on", "off")}}


def build_corpus(source: Path, target: Path, minimum: int) -> int:
    """Repeat ``source`` with fresh ids until at least ``minimum`` records; return the count."""
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    written = 0
    with target.open("w", encoding="utf-8") as handle:
        while written < minimum:
            for record in records:
                handle.write(json.dumps({"id": f"bench-{written:07d}",
                                         "title": record.get("title", ""),
                                         "abstract": record["abstract"]}) + "\n")
                written += 1
    return written


class TreeSampler(threading.Thread):
    """Polls a process and its descendants; keeps the peak summed RSS and PSS."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = self.peak_pss = 0
        self.max_processes = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            rss = pss = 0
            for process in processes:
                try:
                    info = process.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.max_processes = max(self.max_processes, len(processes))
            self.done.wait(self.interval)


def run_cli(corpus: Path, out: Path, model: Path, flags: list[str], batch_size: int | None
            ) -> dict:
    # unlabelled.jsonl holds a few abstracts over the CLI's default 20,000-character limit;
    # lift it so every run tags the same records as earlier runs of this benchmark.
    command = [sys.executable, "-m", "tagger", "tag", str(corpus), "--model", str(model),
               "-o", str(out), "-q", "--max-abstract-chars", str(MAX_ABSTRACT_CHARS), *flags]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    import resource

    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    lines = sum(1 for _ in out.open(encoding="utf-8"))
    return {"command": " ".join(command[2:]).replace(str(corpus), "CORPUS").replace(
                str(out), "OUT"),
            "seconds": round(elapsed, 2), "records": lines,
            "records_per_s": round(lines / elapsed, 1),
            "cpu_seconds": round(cpu, 1), "records_per_cpu_s": round(lines / cpu, 1),
            "peak_rss_mb": round(sampler.peak_rss / 2**20, 1),
            "peak_pss_mb": round(sampler.peak_pss / 2**20, 1),
            "processes": sampler.max_processes, "summary": stderr.strip().splitlines()[-1]}


def stage_costs(source: Path, model: Path, n: int = 2000) -> dict:
    """Single-process docs per CPU-second of each stage on ``n`` abstracts (CPU time, so a
    busy machine does not distort it)."""
    from tagger.artifact import load_model
    from tagger.bulk.batching import read_records, to_documents
    from tagger.bulk.formats import Formatter

    tagger = load_model(model)
    started = time.process_time()
    everything = [record for _, record in read_records([str(source)], lambda error: None)]
    read_s = time.process_time() - started
    batch = everything[:n]
    documents = to_documents(batch)
    texts = documents
    from tagger.features import Lemmatised
    from tagger.fields import Fields

    estimator = tagger.estimator
    fields = Fields([d.title for d in documents], [d.abstract for d in documents])
    timings = {}
    started = time.process_time()
    batch_lemmas = Lemmatised(fields)
    timings["lemmatise"] = time.process_time() - started
    started = time.process_time()
    X = estimator.features_.transform_lemmatised(batch_lemmas)
    timings["features (after lemmatising)"] = time.process_time() - started
    started = time.process_time()
    estimator.classifier_.scores(X)
    timings["classifier"] = time.process_time() - started
    started = time.process_time()
    results = tagger.tag(documents)
    timings["Tagger.tag (all)"] = time.process_time() - started
    if estimator.compile_scoring() is None:
        started = time.process_time()
        compiled_results = tagger.tag(documents)
        timings["Tagger.tag, compiled kernel"] = time.process_time() - started
        themes = [[tag["theme"] for tag in r["tags"]] for r in compiled_results]
        assert themes == [[tag["theme"] for tag in r["tags"]] for r in results]
    started = time.process_time()
    Formatter().format(results)
    timings["JSON output"] = time.process_time() - started
    rates = {name: round(len(texts) / seconds) for name, seconds in timings.items()}
    rates["read + validate (whole file)"] = round(len(everything) / read_s)
    return {"documents": len(texts), "docs_per_s": rates}


def markdown(results: dict, records: int) -> str:
    rows = ["| run | records | seconds | records/s | CPU s | records/CPU-s | peak RSS (tree, MB) "
            "| peak PSS (tree, MB) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        rows.append(f"| {LABELS[name]} | {r['records']:,} | {r['seconds']} | "
                    f"{r['records_per_s']:,.0f} | {r['cpu_seconds']} | "
                    f"{r['records_per_cpu_s']:,.0f} | {r['peak_rss_mb']:.0f} | "
                    f"{r['peak_pss_mb']:.0f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--model", type=Path, default=REPO / "tagger" / "models" / "default")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", default="jobs1,jobs2,dask2",
                        help=f"comma-separated, from {', '.join(RUNS)}")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" /
                        "bulk_tag.json", help="write results here ('-' for none)")
    args = parser.parse_args(argv)
    source = args.shared / "corpus" / "unlabelled.jsonl"
    if not source.is_file():
        parser.error(f"{source}: not found (set --shared)")
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
              "model": str(args.model), "stages": stage_costs(source, args.model), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="tagger-bench-") as temp:
        corpus = Path(temp) / "corpus.jsonl"
        records = build_corpus(source, corpus, args.records)
        report["records"] = records
        print(f"corpus: {records:,} records ({corpus.stat().st_size / 2**20:.0f} MB)",
              file=sys.stderr)
        for name in args.runs.split(","):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            report["runs"][name] = run_cli(corpus, Path(temp) / f"{name}.jsonl", args.model,
                                           RUNS[name], args.batch_size)
    print("Per-stage throughput, one process (docs per CPU-second):")
    for stage, rate in report["stages"]["docs_per_s"].items():
        print(f"  {stage:32} {rate:>8,}")
    print()
    print(markdown(report["runs"], report["records"]))
    if str(args.json) != "-":
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
