"""Soak: minutes of mixed valid and hostile traffic with a model reload every 30 s.

Starts the API with the gunicorn command line ``tagger serve --workers 2`` execs (shipped
model, an admin token set) on a free 127.0.0.1 port, runs 16 closed-loop client threads for
``--seconds`` (default 300) sending real
abstracts from ``../shared/corpus/unlabelled.jsonl`` plus malformed requests of every kind the
API must refuse, and reloads the model through ``POST /v1/admin/reload`` every
``--reload-every`` seconds. Reports requests served, statuses by class, 5xx count, failed valid
requests, p99 latency and the workers' RSS at start and end.

    .venv/bin/python benchmarks/soak.py [--seconds 300] [--concurrency 16]

Prints a markdown table and writes ``benchmarks/results/soak.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from _common import (
    SHIPPED_MODEL,
    UNLABELLED,
    Connection,
    machine,
    percentile,
    read_documents,
    serve_gunicorn,
    write_result,
)

JSON = {"Content-Type": "application/json"}
MAX_RSS_GROWTH = 0.10


def traffic(documents: list[dict]) -> list[tuple[str, float, object]]:
    """(kind, weight, make) where make(rng) -> (method, path, body, headers, valid)."""

    def doc(rng: random.Random) -> dict:
        return rng.choice(documents)

    def single(rng):
        return "POST", "/v1/tag", json.dumps(doc(rng)).encode(), JSON, True

    def explain(rng):
        body = {**doc(rng), "explain": True, "all_scores": True}
        return "POST", "/v1/tag", json.dumps(body).encode(), JSON, True

    def batch(rng):
        body = {"documents": [doc(rng) for _ in range(rng.randint(2, 8))]}
        return "POST", "/v1/tag/batch", json.dumps(body).encode(), JSON, True

    def bad(method, path, body, headers=JSON):
        return lambda rng: (method, path, body, headers, False)

    nested = b'{"abstract": "x", "title": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    return [
        ("valid single", 60, single),
        ("valid explain", 8, explain),
        ("valid batch", 7, batch),
        ("malformed json", 3, bad("POST", "/v1/tag", b'{"abstract": "unterminated')),
        ("missing abstract", 3, bad("POST", "/v1/tag", b'{"title": "only a title"}')),
        ("blank abstract", 2, bad("POST", "/v1/tag", b'{"abstract": "   "}')),
        ("wrong type", 2, bad("POST", "/v1/tag", b'{"abstract": 42, "explain": "yes"}')),
        ("unknown field", 2, bad("POST", "/v1/tag", b'{"abstract": "a b c", "colour": 1}')),
        ("invalid utf-8", 2, bad("POST", "/v1/tag", b'{"abstract": "caf\xe9 \xff\xfe"}')),
        ("nul bytes", 2, bad("POST", "/v1/tag", b'{"abstract": "a\x00b"}\x00')),
        ("deep nesting", 1, bad("POST", "/v1/tag", nested)),
        ("wrong content type", 2, bad("POST", "/v1/tag", b"abstract=text",
                                      {"Content-Type": "application/x-www-form-urlencoded"})),
        ("empty batch", 2, bad("POST", "/v1/tag/batch", b'{"documents": []}')),
        ("wrong method", 1, bad("GET", "/v1/tag", None, {})),
        ("unknown path", 1, bad("GET", "/v1/nothing-here", None, {})),
        ("over body limit", 0.2, bad("POST", "/v1/tag",
                                     b'{"abstract": "' + b"a" * (1 << 20) + b'"}')),
    ]


class Tally:
    """Thread-safe counters for everything the soak reports."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.by_kind: dict[str, Counter] = {}
        self.latencies: list[float] = []
        self.valid_latencies: list[float] = []
        self.failed_valid: list[dict] = []
        self.socket_errors: list[str] = []

    def add(self, kind: str, valid: bool, status: int, seconds: float, ok: bool,
            detail: bytes) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.by_kind.setdefault(kind, Counter())[status] += 1
            self.latencies.append(seconds)
            if valid:
                self.valid_latencies.append(seconds)
                if not ok and len(self.failed_valid) < 20:
                    self.failed_valid.append({"kind": kind, "status": status,
                                              "body": detail[:300].decode("utf-8", "replace")})
                elif not ok:
                    self.failed_valid.append({"kind": kind, "status": status})


def client(url: str, kinds, deadline: float, seed: int, tally: Tally) -> None:
    rng = random.Random(seed)
    names = [k for k, _, _ in kinds]
    weights = [w for _, w, _ in kinds]
    makers = {k: make for k, _, make in kinds}
    connection = Connection(url, timeout=30)
    while time.monotonic() < deadline:
        kind = rng.choices(names, weights)[0]
        method, path, body, headers, valid = makers[kind](rng)
        started = time.perf_counter()
        try:
            status, data = connection.request(method, path, body, headers)
        except OSError as error:
            with tally.lock:
                tally.socket_errors.append(f"{kind}: {error!r}")
                if valid:
                    tally.failed_valid.append({"kind": kind, "error": repr(error)})
            connection.close()
            continue
        elapsed = time.perf_counter() - started
        ok = status == 200
        if valid and ok:
            try:
                answer = json.loads(data)
                ok = "tags" in answer or len(answer.get("results", [])) > 0
            except ValueError:
                ok = False
        tally.add(kind, valid, status, elapsed, ok, data)
    connection.close()


def reloader(url: str, token: str, models: ModelSwitch, every: float, started: float,
             deadline: float, log: list[dict]) -> None:
    connection = Connection(url, timeout=60)
    next_at = started + every
    while next_at < deadline:
        time.sleep(max(0.0, next_at - time.monotonic()))
        version = models.switch()
        begun = time.perf_counter()
        try:
            status, data = connection.request("POST", "/v1/admin/reload", b"",
                                              {"Authorization": f"Bearer {token}"})
        except OSError as error:
            status, data = 0, repr(error).encode()
        log.append({"at_s": round(time.monotonic() - started, 1), "to": version,
                    "status": status,
                    "seconds": round(time.perf_counter() - begun, 3),
                    "body": data[:200].decode("utf-8", "replace")})
        next_at += every


def sample_rss(server, every: float, started: float, deadline: float,
               timeline: list[dict]) -> None:
    """Total worker RSS every ``every`` seconds: a one-off step (first reload, allocator
    arenas) looks different from a leak (steady growth)."""
    while time.monotonic() + every < deadline:
        time.sleep(every)
        timeline.append({"at_s": round(time.monotonic() - started, 1),
                         "total_mib": round(sum(server.worker_rss().values()) / 2**20, 1)})


class ModelSwitch:
    """Two copies of the model that differ only in ``model_version`` behind a symlink that
    ``TAGGER_MODEL`` names: every reload really swaps the model in every worker (reloading
    an unchanged directory is skipped by workers that already serve it)."""

    def __init__(self, source: Path, root: Path):
        self.dirs = []
        for name in ("a", "b"):
            target = root / name
            shutil.copytree(source, target)
            manifest_path = target / "manifest.json"
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            manifest["model_version"] = f"{manifest.get('model_version', '0')}-soak-{name}"
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            self.dirs.append(target)
        self.link = root / "current"
        self.link.symlink_to(self.dirs[0])
        self.current = 0

    def switch(self) -> str:
        """Point the link at the other copy (atomic rename) and return its version."""
        self.current = 1 - self.current
        staging = self.link.with_name("current.new")
        staging.unlink(missing_ok=True)
        staging.symlink_to(self.dirs[self.current])
        os.replace(staging, self.link)
        return self.dirs[self.current].name


def warm_up(url: str, kinds, rng: random.Random, rounds: int = 10) -> None:
    connection = Connection(url, timeout=60)
    for _ in range(rounds):
        for _, _, make in kinds:
            method, path, body, headers, _ = make(rng)
            connection.request(method, path, body, headers)
    connection.close()


def reload_all_workers(server, models: ModelSwitch, workers: int,
                       timeout: float = 120.0) -> None:
    """Swap the model by SIGHUP to the master; wait until it and every worker logged it."""
    def reloads() -> int:
        return server.log_path.read_text(errors="replace").count("model swapped")

    wanted = reloads() + workers + 1
    models.switch()
    os.kill(server.pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while reloads() < wanted:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not all reload after SIGHUP")
        time.sleep(0.2)


def rss_mib(sizes: dict[int, int]) -> dict:
    return {"per_worker": {str(pid): round(rss / 2**20, 1) for pid, rss in sizes.items()},
            "total": round(sum(sizes.values()) / 2**20, 1)}


def timeline_trend(timeline: list[dict]) -> dict | None:
    """Median total RSS of the first and of the last third of the samples, and the change:
    the RSS swings by about one model at every reload (the new one loads while the old one
    serves), so two single samples can differ by that swing alone; medians of many samples
    show whether there is a trend (a leak) under the swing."""
    values = [point["total_mib"] for point in timeline]
    third = len(values) // 3
    if third < 2:
        return None
    first, last = statistics.median(values[:third]), statistics.median(values[-third:])
    return {"first_third_median_mib": first, "last_third_median_mib": last,
            "change_pct": round((last / first - 1) * 100, 1)}


def markdown(result: dict) -> str:
    classes = result["status_classes"]
    rows = [
        ("duration / concurrency", f"{result['seconds']} s / {result['concurrency']} clients"),
        ("requests served", f"{result['requests']:,} ({result['requests_per_s']:,.0f} req/s)"),
        ("valid / invalid requests", f"{result['valid_requests']:,} / "
                                     f"{result['requests'] - result['valid_requests']:,}"),
        ("statuses by class", ", ".join(f"{k}: {v:,}" for k, v in sorted(classes.items()))),
        ("5xx", f"**{classes.get('5xx', 0)}**"),
        ("failed valid requests", f"**{result['failed_valid_requests']}**"),
        ("socket errors", str(result["socket_errors"])),
        ("reloads (ok / total)", f"{result['reloads_ok']} / {len(result['reloads'])}"),
        ("latency p50 / p99 (all)", f"{result['latency_ms']['p50']} ms / "
                                    f"{result['latency_ms']['p99']} ms"),
        ("latency p99 (valid)", f"{result['valid_latency_ms']['p99']} ms"),
        ("worker RSS fresh -> after first reload (one-off)",
         f"{result['rss_mib']['fresh_before_first_reload']['total']} MiB -> "
         f"{result['rss_mib']['start']['total']} MiB "
         f"({result['rss_first_reload_step_pct']:+.1f}%)"),
        ("worker RSS start -> end", f"{result['rss_mib']['start']['total']} MiB -> "
                                    f"{result['rss_mib']['end']['total']} MiB "
                                    f"({result['rss_growth_pct']:+.1f}%)"),
        ("worker RSS trend (median of the first / last third of the samples)",
         "-" if not result["rss_trend"] else
         f"{result['rss_trend']['first_third_median_mib']} MiB -> "
         f"{result['rss_trend']['last_third_median_mib']} MiB "
         f"({result['rss_trend']['change_pct']:+.1f}%)"),
        ("worker RSS over time (MiB)", " ".join(
            f"{p['at_s']:.0f}s:{p['total_mib']:.0f}" for p in result["rss_timeline_mib"])),
    ]
    lines = ["| measure | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--reload-every", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="app threads per worker")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--corpus", type=Path, default=UNLABELLED)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rss-every", type=float, default=10.0,
                        help="seconds between worker RSS samples")
    parser.add_argument("--no-write", action="store_true", help="do not write the JSON result")
    args = parser.parse_args(argv)

    documents = read_documents(args.corpus, args.documents)
    kinds = traffic(documents)
    token = secrets.token_urlsafe(24)
    scratch = tempfile.TemporaryDirectory(prefix="tagger-soak-")
    models = ModelSwitch(args.model.resolve(), Path(scratch.name))
    env = {"TAGGER_ADMIN_TOKEN": token, "TAGGER_MODEL": str(models.link)}
    tally = Tally()
    reloads: list[dict] = []
    # The command line ``tagger serve`` execs (tagger.api.launch), with the model link pinned.
    with scratch, serve_gunicorn("tagger.api.asgi:app", workers=args.workers,
                                 threads=args.threads, env=env) as server:
        # Warm both workers on every kind of request, then once more after one reload in
        # every worker (SIGHUP to the master): a worker's first reload replaces the model it
        # shared copy-on-write with the master by a private copy, a one-off step reported as
        # such. "start" is then the steady state that a leak would grow from.
        warm_up(server.base_url, kinds, random.Random(args.seed))
        rss_fresh = server.worker_rss()
        reload_all_workers(server, models, args.workers)
        warm_up(server.base_url, kinds, random.Random(args.seed + 1))
        rss_start = server.worker_rss()
        pids_start = server.worker_pids()
        started = time.monotonic()
        deadline = started + args.seconds
        threads = [threading.Thread(target=client,
                                    args=(server.base_url, kinds, deadline, args.seed + k, tally))
                   for k in range(args.concurrency)]
        threads.append(threading.Thread(target=reloader, args=(
            server.base_url, token, models, args.reload_every, started, deadline, reloads)))
        rss_timeline: list[dict] = []
        threads.append(threading.Thread(target=sample_rss, args=(
            server, args.rss_every, started, deadline, rss_timeline)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        rss_end = server.worker_rss()
        pids_end = server.worker_pids()
        healthy = {path: Connection(server.base_url).request("GET", path)[0]
                   for path in ("/healthz", "/readyz")}
    classes = Counter(f"{status // 100}xx" for status in tally.statuses.elements())
    latencies = sorted(v * 1000 for v in tally.latencies)
    valid = sorted(v * 1000 for v in tally.valid_latencies)
    start_total, end_total = sum(rss_start.values()), sum(rss_end.values())
    growth = (end_total - start_total) / start_total if start_total else float("nan")
    result = {
        "seconds": round(elapsed, 1), "concurrency": args.concurrency,
        "workers": args.workers, "reload_every_s": args.reload_every,
        "requests": len(latencies), "requests_per_s": round(len(latencies) / elapsed, 1),
        "valid_requests": len(valid),
        "status_classes": dict(sorted(classes.items())),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "by_kind": {kind: {str(s): c for s, c in sorted(counts.items())}
                    for kind, counts in tally.by_kind.items()},
        "failed_valid_requests": len(tally.failed_valid),
        "failed_valid_examples": tally.failed_valid[:20],
        "socket_errors": len(tally.socket_errors),
        "socket_error_examples": tally.socket_errors[:10],
        "reloads": reloads, "reloads_ok": sum(r["status"] == 200 for r in reloads),
        "latency_ms": {name: round(percentile(latencies, q), 2)
                       for name, q in (("p50", 50), ("p90", 90), ("p99", 99))},
        "valid_latency_ms": {name: round(percentile(valid, q), 2)
                             for name, q in (("p50", 50), ("p90", 90), ("p99", 99))},
        "rss_mib": {"fresh_before_first_reload": rss_mib(rss_fresh),
                    "start": rss_mib(rss_start), "end": rss_mib(rss_end)},
        "rss_first_reload_step_pct": round(
            (sum(rss_start.values()) / sum(rss_fresh.values()) - 1) * 100, 1),
        "worker_pids": {"start": pids_start, "end": pids_end},
        "rss_growth_pct": round(growth * 100, 1),
        "rss_timeline_mib": rss_timeline,
        "rss_trend": timeline_trend(rss_timeline),
        "health_after": healthy,
        "checks": {
            "zero_5xx": classes.get("5xx", 0) == 0,
            "zero_failed_valid": not tally.failed_valid,
            "rss_growth_within_10pct": growth <= MAX_RSS_GROWTH,
            "same_workers": pids_start == pids_end,
            "healthy_after": all(s == 200 for s in healthy.values()),
        },
        "machine": machine(), "invocation": "python " + " ".join(sys.argv),
    }
    print(markdown(result))
    print("\nchecks: " + ", ".join(f"{k}={'ok' if v else 'FAILED'}"
                                   for k, v in result["checks"].items()))
    if not args.no_write:
        print(f"written: {write_result('soak', result)}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
