"""Helpers shared by the API benchmarks: start a real ``tagger serve`` on a free loopback port,
read real abstracts from ``../shared`` at run time (never copied into the repo), summarise
latencies and write results.

Benchmarks, not tests: they measure this machine, so their numbers go into the README, never
into an assertion.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TAGGER_SHARED", REPO.parent / "shared"))
UNLABELLED = SHARED / "corpus" / "unlabelled.jsonl"
SHIPPED_MODEL = REPO / "tagger" / "models" / "default"
RESULTS = REPO / "benchmarks" / "results"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_documents(path: Path = UNLABELLED, limit: int = 2000) -> list[dict]:
    """Up to ``limit`` ``{"id", "title", "abstract"}`` records with a non-blank abstract."""
    if not path.is_file():
        sys.exit(f"{path}: not found (the benchmarks read real abstracts from ../shared)")
    documents = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if str(record.get("abstract", "")).strip():
                documents.append({"id": str(record.get("id", len(documents))),
                                  "title": str(record.get("title") or ""),
                                  "abstract": record["abstract"]})
            if len(documents) >= limit:
                break
    return documents


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (``q`` in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def tagger_command() -> list[str]:
    """The ``tagger`` console script of the running interpreter's environment."""
    script = Path(sys.executable).parent / "tagger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tagger"]


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """PIDs of the gunicorn workers (children of the master)."""
        try:
            return sorted(child.pid for child in psutil.Process(self.pid).children())
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the master and its live workers: with the
        request count it gives CPU per request, which other load on the machine barely
        changes (unlike requests/s)."""
        total = 0.0
        try:
            master = psutil.Process(self.pid)
            processes = [master, *master.children()]
        except psutil.NoSuchProcess:
            return total
        for process in processes:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def worker_rss(self) -> dict[int, int]:
        """Resident set size in bytes of each worker."""
        sizes = {}
        for pid in self.worker_pids():
            try:
                sizes[pid] = psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return sizes


def wait_ready(base_url: str, timeout: float = 60.0, process: subprocess.Popen | None = None
               ) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(base_url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base_url}/readyz not ready after {timeout:.0f}s")


@contextmanager
def _running(process: subprocess.Popen, port: int, log_path: Path) -> Iterator[Server]:
    """A started server process: wait until it is ready, stop it (TERM, then KILL) at the end."""
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, process=process)
        yield Server(base_url, process, log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def serve(model: Path = SHIPPED_MODEL, workers: int = 2, env: dict[str, str] | None = None,
          log_path: Path | None = None, threads: int | None = None) -> Iterator[Server]:
    """Run ``tagger serve`` on a free 127.0.0.1 port until the block ends."""
    port = free_port()
    log_path = log_path or Path(f"/tmp/tagger-bench-{port}.log")
    command = tagger_command() + ["serve", "--host", "127.0.0.1", "--port", str(port),
                                  "--workers", str(workers), "--model", str(model)]
    if threads is not None:
        command += ["--threads", str(threads)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **(env or {})},
                                   stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    with _running(process, port, log_path) as server:
        yield server


@contextmanager
def serve_gunicorn(app: str, workers: int = 2, threads: int = 2,
                   env: dict[str, str] | None = None,
                   log_path: Path | None = None) -> Iterator[Server]:
    """Run any app (``module:name`` importable from benchmarks/) under the API's gunicorn
    configuration (tagger/api/gunicorn_conf.py: same worker class, preload, logs), with the
    same command line ``tagger serve`` builds."""
    sys.path.insert(0, str(REPO))
    from tagger.api.launch import gunicorn_command, server_environment

    port = free_port()
    log_path = log_path or Path(f"/tmp/tagger-bench-{port}.log")
    full_env = server_environment({**os.environ, **(env or {}),
                                   "TAGGER_THREADS": str(threads)})
    saved = os.environ.get("TAGGER_WORKER_CLASS")
    os.environ["TAGGER_WORKER_CLASS"] = full_env.get("TAGGER_WORKER_CLASS", "tagger")
    try:
        command = gunicorn_command("127.0.0.1", port, workers, threads)[:-1] + [app]
    finally:
        if saved is None:
            os.environ.pop("TAGGER_WORKER_CLASS")
        else:
            os.environ["TAGGER_WORKER_CLASS"] = saved
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "benchmarks"), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    with _running(process, port, log_path) as server:
        yield server


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0],
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1)}


class Connection:
    """A keep-alive HTTP/1.1 connection to the server that reconnects whenever the server
    closed it (gunicorn's sync workers close after every response)."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        import http.client

        for _ in (0, 1):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return response.status, data
            except (ConnectionError, http.client.RemoteDisconnected,
                    http.client.CannotSendRequest, http.client.BadStatusLine):
                self.close()
                if not reused:  # only a stale keep-alive connection earns a retry
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
