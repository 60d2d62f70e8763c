"""Benchmark the theme feeds against a real ``tagger serve`` (2 workers, shipped model) over a
store in which one theme has 100,000 papers (and 150,000 papers in all).

The store is filled through :meth:`StreamStore.store_batch`, the path ingest writes with,
with generated titles and abstracts (no real abstract) and generated scores, so building it
takes seconds instead of scoring 150,000 abstracts. Then, per scenario, one warm-up request
(the first request of a feed explains the papers it shows and keeps the phrases: that cold
cost is reported on its own), and ``--requests`` sequential requests on one keep-alive
connection, timed on the client. Scenarios: the theme feed (default n=30), n=100,
min_score=0.9, a three-theme feed, and a conditional GET answered 304. Results:
``benchmarks/results/feed_latency.json``. Run: ``.venv/bin/python benchmarks/feed_latency.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Connection, machine, percentile, serve, write_result  # noqa: E402

THEME = "state-space-models"
OTHERS = ["time-series", "computer-vision", "language-models-and-nlp"]
WORDS = ["we", "propose", "a", "selective", "state", "space", "model", "for", "long", "sequence",
         "modelling", "with", "linear", "time", "scan", "and", "show", "results", "on",
         "benchmarks", "mamba", "recurrent", "layer", "efficient", "inference", "tokens"]


def build_store(db: str, papers: int, themed: int, seed: int = 0) -> None:
    from tagger.stream.store import StreamPaper, StreamStore

    rng = random.Random(seed)
    store = StreamStore.open(db, bulk=True)
    model_id = store.model_id("default", "bench")
    batch, scores = [], []
    for number in range(1, papers + 1):
        words = [rng.choice(WORDS) for _ in range(120)]
        batch.append(StreamPaper.make(f"arxiv:2601.{number:06d}",
                                      " ".join(words[:8]).capitalize(),
                                      " ".join(words).capitalize() + ".", month="2026-01",
                                      categories=("cs.LG",)))
        row = [(rng.choice(OTHERS), round(rng.uniform(0.1, 1.0), 4))]
        if number * themed // papers != (number - 1) * themed // papers:  # spread evenly
            row.append((THEME, round(rng.uniform(0.5, 1.0), 4)))
        scores.append(tuple(row))
        if len(batch) == 2000:
            store.store_batch(batch, scores, model_id)
            batch, scores = [], []
    if batch:
        store.store_batch(batch, scores, model_id)
    store.close()


def measure(base_url: str, path: str, n: int, headers: dict | None = None) -> dict:
    connection = Connection(base_url, timeout=30)
    started = time.perf_counter()
    status, body = connection.request("GET", path, headers=headers)
    cold = time.perf_counter() - started
    expected = status
    times = []
    for _ in range(n):
        started = time.perf_counter()
        status, body = connection.request("GET", path, headers=headers)
        times.append(time.perf_counter() - started)
        if status != expected:
            raise SystemExit(f"{path}: status {status} after {expected}")
    connection.close()
    times.sort()
    ms = [t * 1000 for t in times]
    return {"path": path, "status": status, "bytes": len(body), "requests": n,
            "first_request_ms": round(cold * 1000, 1), "p50_ms": round(percentile(ms, 50), 2),
            "p90_ms": round(percentile(ms, 90), 2), "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(ms[-1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=150_000)
    parser.add_argument("--themed", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tagger-feeds-") as temp:
        db = str(Path(temp) / "stream.sqlite")
        started = time.perf_counter()
        build_store(db, args.papers, args.themed)
        print(f"store: {args.papers:,} papers, {args.themed:,} of them {THEME} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
        load = os.getloadavg()[0]
        results = []
        with serve(workers=2, env={"TAGGER_DB": db}) as server:
            feed = f"/v1/themes/{THEME}/feed.atom"
            for path in (feed, feed + "?n=100", feed + "?min_score=0.9",
                         "/v1/feed.atom?themes=" + ",".join([THEME, *OTHERS[:2]])):
                results.append(measure(server.base_url, path, args.requests))
                print(results[-1], flush=True)
            with urllib.request.urlopen(server.base_url + feed, timeout=30) as response:
                tag = response.headers["ETag"]
            results.append(measure(server.base_url, feed, args.requests,
                                   headers={"If-None-Match": tag}))
            print(results[-1], flush=True)
        load_after = os.getloadavg()[0]
    result = {"what": f"GET feed requests against tagger serve (2 workers), {args.papers:,} "
                      f"stored papers, {args.themed:,} in {THEME}; sequential keep-alive "
                      "requests timed on the client, after one warm-up request each",
              "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "machine": machine(),
              "load_before": load, "load_after": load_after, "scenarios": results}
    print(f"written to {write_result('feed_latency', result)}")


if __name__ == "__main__":
    main()
