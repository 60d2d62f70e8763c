"""Throughput and latency of ``POST /v1/tag`` with 16 concurrent clients, for ``tagger
serve`` AND, in the same run, for a bare Flask echo app (``benchmarks/echo_app.py``) under the
same gunicorn configuration, worker class, workers and threads: the framework's ceiling on
this machine. Reports both and the ratio (issue 11 targets: tagger >= 50% of the bare app,
>= 1,200 req/s, p99 <= 25 ms).

Sends real abstracts from ``../shared/corpus/unlabelled.jsonl`` (read at run time). The load
comes from Debian's ``wrk`` when installed: Python client threads on a 2-core machine compete
with the server for CPU and would measure themselves. Without ``wrk`` a Python thread client
is used and the result says so. Bounded by ``--seconds`` per server.

    .venv/bin/python benchmarks/api_load.py [--seconds 20] [--concurrency 16]
        [--worker-class tagger|gthread|sync] [--threads N] [--only tagger|echo]

Prints a markdown table and writes ``benchmarks/results/api_load[-CLASS].json``.
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
from pathlib import Path

from _common import (
    SHIPPED_MODEL,
    UNLABELLED,
    Connection,
    machine,
    percentile,
    read_documents,
    serve_gunicorn,
    wait_ready,
    write_result,
)

TARGET_P99_MS = 25.0
TARGET_RPS = 1200.0
TARGET_RATIO = 0.5
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
    if status != 200 or not isinstance(answer, dict):
        raise RuntimeError(f"POST /v1/tag answered {status}: {data[:300]!r}")
    return answer.get("model", {})


def markdown(results: dict, settings: str) -> str:
    """One column per server, then the ratio."""
    names = [name for name in ("echo", "tagger") if name in results]
    header = {"echo": "bare Flask echo", "tagger": "tagger serve"}

    def row(label: str, cell) -> str:
        return f"| {label} | " + " | ".join(cell(results[n]) for n in names) + " |"

    lines = [f"Settings: {settings}.", "",
             "| measure | " + " | ".join(header[n] for n in names) + " |",
             "| --- |" + " --- |" * len(names),
             row("requests", lambda r: f"{r['requests']:,} in {r['seconds']} s"),
             row("throughput", lambda r: f"**{r['requests_per_s']:,.0f} req/s**"),
             row("latency p50 / p90", lambda r: f"{r['latency_ms']['p50']} / "
                 f"{r['latency_ms']['p90']} ms"),
             row("latency p99", lambda r: f"**{r['latency_ms']['p99']} ms**"),
             row("latency max", lambda r: f"{r['latency_ms']['max']} ms"),
             row("non-2xx / socket errors", lambda r: f"{r['non_2xx']} / {r['socket_errors']}"),
             row("server CPU per request", lambda r: f"{r.get('server_cpu_ms_per_request')} ms"),
             row("load average (1 min, at end)", lambda r: f"{r['load_average_1m']}")]
    if len(names) == 2:
        ratio = results["tagger"]["requests_per_s"] / results["echo"]["requests_per_s"]
        tagger = results["tagger"]
        lines += ["", f"tagger / bare app: **{ratio:.0%}** of the requests/s (target >= "
                  f"{TARGET_RATIO:.0%}); tagger {tagger['requests_per_s']:,.0f} req/s (target "
                  f">= {TARGET_RPS:,.0f}), p99 {tagger['latency_ms']['p99']} ms (target <= "
                  f"{TARGET_P99_MS:g} ms)."]
    return "\n".join(lines)


def measure_server(server, url: str, bodies: list[bytes], bodies_path: Path, args,
                   use_wrk: bool) -> dict:
    wait_ready(url)
    model = check_one(url, bodies[0])

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
        result["server_cpu_ms_per_request"] = round(cpu * 1000 / max(1, result["requests"]), 3)
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    result["model"] = model
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="benchmark a running tagger server instead of starting "
                        "one (no echo comparison)")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="app threads per worker")
    parser.add_argument("--worker-class", default="tagger", choices=("tagger", "gthread", "sync"),
                        help="gunicorn worker (TAGGER_WORKER_CLASS); default: tagger serve's")
    parser.add_argument("--only", choices=("tagger", "echo"), help="measure one server only")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--requests", type=int, default=200_000,
                        help="upper bound on requests (Python client)")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--corpus", type=Path, default=UNLABELLED)
    parser.add_argument("--access-log", default="-",
                        help="TAGGER_ACCESS_LOG for both servers (default '-': on, as served)")
    parser.add_argument("--no-write", action="store_true", help="do not write the JSON result")
    args = parser.parse_args(argv)

    documents = read_documents(args.corpus, args.documents)
    bodies = [json.dumps(doc).encode() for doc in documents]
    use_wrk = bool(args.client == "wrk" or (args.client == "auto" and shutil.which("wrk")))
    env = {"TAGGER_WORKER_CLASS": args.worker_class, "TAGGER_ACCESS_LOG": args.access_log}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        bodies_path = Path(tmp) / "bodies.jsonl"
        bodies_path.write_bytes(b"\n".join(bodies) + b"\n")
        if args.url:
            results["tagger"] = measure_server(None, args.url.rstrip("/"), bodies, bodies_path,
                                               args, use_wrk)
        else:
            # Both through the command line ``tagger serve`` execs (gunicorn_command), so the
            # two servers differ in the app only.
            plain = args.worker_class != "tagger"
            apps = {"echo": "echo_app:wsgi" if plain else "echo_app:app",
                    "tagger": "tagger.api.wsgi:app" if plain else "tagger.api.asgi:app"}
            model_env = {**env, "TAGGER_MODEL": str(args.model.resolve())}
            targets = {
                "echo": lambda: serve_gunicorn(apps["echo"], args.workers, args.threads, env),
                "tagger": lambda: serve_gunicorn(apps["tagger"], args.workers, args.threads,
                                                 model_env),
            }
            for name, start in targets.items():
                if args.only and name != args.only:
                    continue
                with start() as server:
                    results[name] = measure_server(server, server.base_url, bodies,
                                                   bodies_path, args, use_wrk)
    settings = (f"{args.workers} workers x {args.threads} threads, worker class "
                f"{args.worker_class}, {args.concurrency} connections, {args.seconds:g} s each, "
                f"client {'wrk' if use_wrk else 'python threads'}, access log "
                f"{args.access_log!r}")
    summary = {"settings": settings, "results": results, "machine": machine(),
               "invocation": "python " + " ".join(sys.argv),
               "targets": {"p99_ms_at_most": TARGET_P99_MS, "requests_per_s_at_least": TARGET_RPS,
                           "ratio_to_bare_app_at_least": TARGET_RATIO}}
    if "echo" in results and "tagger" in results:
        summary["ratio"] = round(results["tagger"]["requests_per_s"]
                                 / results["echo"]["requests_per_s"], 3)
    print(markdown(results, settings))
    if not args.no_write:
        suffix = "" if args.worker_class == "tagger" else f"-{args.worker_class}"
        print(f"\nwritten: {write_result('api_load' + suffix, summary)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
