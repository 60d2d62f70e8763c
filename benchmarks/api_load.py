"""Throughput and latency of ``POST /v1/tag`` with 16 concurrent clients.

Starts ``tagger serve --workers 2`` with the shipped model on a free 127.0.0.1 port (or targets
``--url``) and sends real abstracts from ``../shared/corpus/unlabelled.jsonl`` (read at run
time). The load comes from Debian's ``wrk`` when installed: Python client threads on a 2-core
machine compete with the server for CPU and would measure themselves. Without ``wrk`` a
Python thread client is used and the result says so. Bounded by ``--seconds`` (and, for the
Python client, ``--requests``).

    .venv/bin/python benchmarks/api_load.py [--seconds 20] [--concurrency 16] [--url URL]

Prints a markdown table and writes ``benchmarks/results/api_load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

from _common import (
    SHIPPED_MODEL,
    UNLABELLED,
    Connection,
    machine,
    percentile,
    read_documents,
    serve,
    wait_ready,
    write_result,
)

TARGET_P99_MS = 25.0
TARGET_RPS = 1000.0
LUA_SCRIPT = Path(__file__).with_name("wrk_tag.lua")


def run_wrk(url: str, bodies_path: Path, seconds: float, concurrency: int, threads: int) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s",
               "-s", str(LUA_SCRIPT), url, "--", str(bodies_path), "/v1/tag"]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    match = re.search(r"^WRKJSON (\{.*\})$", completed.stdout, re.MULTILINE)
    if not match:
        raise RuntimeError(f"no summary from wrk:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(match.group(1))
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in raw if k.startswith("errors_") and k != "errors_status")
    return {
        "client": "wrk", "command": " ".join(command),
        "requests": raw["requests"], "seconds": round(seconds_run, 2),
        "requests_per_s": round(raw["requests"] / seconds_run, 1),
        "non_2xx": raw["errors_status"], "socket_errors": errors,
        "latency_ms": {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()},
    }


def run_threads(url: str, bodies: list[bytes], seconds: float, concurrency: int,
                max_requests: int) -> dict:
    """Closed-loop Python client: ``concurrency`` threads, each with its own connection."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    lock = threading.Lock()
    issued = [0]
    deadline = time.monotonic() + seconds
    headers = {"Content-Type": "application/json"}

    def client(offset: int) -> None:
        connection = Connection(url)
        mine: list[float] = []
        mine_status: dict[int, int] = {}
        i = offset
        while time.monotonic() < deadline:
            with lock:
                if issued[0] >= max_requests:
                    break
                issued[0] += 1
            i = (i + 1) % len(bodies)
            started = time.perf_counter()
            try:
                status, _ = connection.request("POST", "/v1/tag", bodies[i], headers)
            except OSError:
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - started)
            mine_status[status] = mine_status.get(status, 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for status, count in mine_status.items():
                statuses[status] = statuses.get(status, 0) + count

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(k * 997,)) for k in range(concurrency)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return {
        "client": f"python threads ({concurrency})",
        "command": "built-in Python client (wrk not installed)",
        "requests": len(latencies), "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "non_2xx": sum(c for s, c in statuses.items() if not 200 <= s < 300),
        "socket_errors": errors[0],
        "latency_ms": {"mean": round(sum(ms) / max(1, len(ms)), 2),
                       **{name: round(percentile(ms, q), 2) for name, q in
                          (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9))},
                       "max": round(ms[-1], 2) if ms else None},
    }


def check_one(url: str, body: bytes) -> dict:
    """One request before measuring, so a broken server fails loudly instead of fast."""
    status, data = Connection(url).request("POST", "/v1/tag", body,
                                           {"Content-Type": "application/json"})
    answer = json.loads(data)
    if status != 200 or "tags" not in answer:
        raise RuntimeError(f"POST /v1/tag answered {status}: {data[:300]!r}")
    return answer.get("model", {})


def markdown(result: dict) -> str:
    lat = result["latency_ms"]
    threads = f" --threads {result['threads']}" if result["threads"] else ""
    rows = [
        ("client", result["client"]),
        ("server", f"tagger serve --workers {result['workers']}{threads} (gunicorn), model "
                   f"{result['model'].get('name')} {result['model'].get('version')}"),
        ("concurrency", result["concurrency"]),
        ("requests", f"{result['requests']:,} in {result['seconds']} s"),
        ("throughput", f"**{result['requests_per_s']:,.0f} req/s** (target >= {TARGET_RPS:,.0f})"),
        ("latency p50 / p90", f"{lat['p50']} ms / {lat['p90']} ms"),
        ("latency p99", f"**{lat['p99']} ms** (target < {TARGET_P99_MS:g} ms)"),
        ("latency max", f"{lat['max']} ms"),
        ("non-2xx / socket errors", f"{result['non_2xx']} / {result['socket_errors']}"),
    ]
    if result.get("server_cpu_ms_per_request") is not None:
        rows.append(("server CPU per request", f"{result['server_cpu_ms_per_request']} ms "
                     f"(all cores to the server: ~{result['cpu_bound_requests_per_s']:,.0f} "
                     "req/s)"))
    rows.append(("machine load average (1 min, at end)", result["load_average_1m"]))
    lines = ["| measure | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="benchmark a running server instead of starting one")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, help="threads per worker (tagger serve's default)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--requests", type=int, default=200_000,
                        help="upper bound on requests (Python client)")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--corpus", type=Path, default=UNLABELLED)
    parser.add_argument("--no-write", action="store_true", help="do not write the JSON result")
    args = parser.parse_args(argv)

    documents = read_documents(args.corpus, args.documents)
    bodies = [json.dumps(doc).encode() for doc in documents]
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    context = nullcontext(None) if args.url else serve(args.model, workers=args.workers,
                                                         threads=args.threads)
    with context as server, tempfile.TemporaryDirectory() as tmp:
        url = args.url.rstrip("/") if args.url else server.base_url
        wait_ready(url)
        model = check_one(url, bodies[0])
        bodies_path = Path(tmp) / "bodies.jsonl"
        bodies_path.write_bytes(b"\n".join(bodies) + b"\n")

        def measure(seconds: float) -> dict:
            if use_wrk:
                return run_wrk(url, bodies_path, seconds, args.concurrency, args.wrk_threads)
            return run_threads(url, bodies, seconds, args.concurrency, args.requests)

        if args.warmup > 0:
            measure(args.warmup)
        cpu_before = server.cpu_seconds() if server else None
        result = measure(args.seconds)
        if server:
            cpu = server.cpu_seconds() - cpu_before
            result["server_cpu_seconds"] = round(cpu, 2)
            result["server_cpu_ms_per_request"] = round(cpu * 1000 / max(1, result["requests"]),
                                                        3)
            # What the server could do with every core to itself (the client and anything
            # else running on the machine take their share in the measured figure).
            result["cpu_bound_requests_per_s"] = round(
                (os.cpu_count() or 1) * result["requests"] / cpu, 1) if cpu else None
        result["load_average_1m"] = round(os.getloadavg()[0], 2)
    result.update({
        "endpoint": "POST /v1/tag", "concurrency": args.concurrency,
        "workers": args.workers if not args.url else None, "threads": args.threads,
        "url": args.url or "(started)",
        "documents": len(documents), "corpus": str(args.corpus.name), "model": model,
        "targets": {"p99_ms_below": TARGET_P99_MS, "requests_per_s_at_least": TARGET_RPS},
        "meets_targets": result["latency_ms"]["p99"] < TARGET_P99_MS
        and result["requests_per_s"] >= TARGET_RPS,
        "machine": machine(), "invocation": "python " + " ".join(sys.argv),
    })
    print(markdown(result))
    if not args.no_write:
        print(f"\nwritten: {write_result('api_load', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
