"""A real gunicorn serving the API on a free 127.0.0.1 port, driven over real HTTP.

Reusable pieces:

* :func:`serve_api` — context manager starting ``tagger serve`` (or bare gunicorn) with a
  given model directory and environment; yields a :class:`Server`.
* ``api_server`` (session) — 2 workers, admin token set, small limits (see ``LIMITS``),
  serving a copy of ``small_model`` through a symlink (``server.model_dir``) that tests may
  repoint with :meth:`Server.switch_model` (and must point back).
* :func:`model_copy` / :func:`tamper` — model directory variants for reload tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

VENV_BIN = Path(sys.executable).parent
ADMIN_TOKEN = "test-admin-token-7f3a"
LIMITS = {"TAGGER_MAX_BATCH": "8", "TAGGER_MAX_BODY_BYTES": "65536",
          "TAGGER_MAX_ABSTRACT_CHARS": "5000"}
START_SECONDS = 90  # an upper bound for a loaded 2-core machine, not a speed assertion


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    model_dir: Path  # what TAGGER_MODEL names (a symlink for switchable servers)
    log_path: Path
    env: dict = field(default_factory=dict)

    @property
    def master_pid(self) -> int:
        """``tagger serve`` execs gunicorn, so the child we started is the master."""
        return self.process.pid

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def switch_model(self, target: Path) -> None:
        """Atomically repoint the ``model_dir`` symlink (as ``tagger publish`` does)."""
        staging = self.model_dir.with_name(self.model_dir.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        staging.symlink_to(target)
        os.replace(staging, self.model_dir)

    def versions(self, n: int = 12) -> set[str]:
        """Model versions reported by ``n`` requests on fresh connections (so they spread
        over the workers)."""
        return {requests.get(self.url("/v1/model"), timeout=30).json()["model"]["version"]
                for _ in range(n)}

    def served_versions(self) -> set[str]:
        """Model versions served by the live workers, from ``tagger_model_info`` in
        ``/metrics`` (each worker sets its model's series to 1 when it swaps). Unlike
        :meth:`versions` this sees every worker: requests all go to whichever workers are
        quickest to accept, and a worker busy loading a model is not among them."""
        text = requests.get(self.url("/metrics"), timeout=30).text
        return {sample.labels["version"]
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "tagger_model_info" and sample.value == 1}

    def wait_for_version(self, version: str, deadline_seconds: float = 60) -> None:
        """Poll until every live worker serves ``version`` (followers swap in the background
        after one worker reloads), as both the metrics and the answers say."""
        end = time.monotonic() + deadline_seconds
        while time.monotonic() < end:
            if self.served_versions() == {version} and self.versions() == {version}:
                return
            time.sleep(0.3)
        swaps = [line for line in self.log_text().splitlines() if "tagger.api.model" in line]
        raise AssertionError(f"workers did not all switch to {version}: metrics say "
                             f"{self.served_versions()}, answers {self.versions()}; the "
                             "workers' model log:\n" + "\n".join(swaps[-12:]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(server: Server) -> None:
    end = time.monotonic() + START_SECONDS
    while time.monotonic() < end:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n"
                               f"{server.log_text()[-4000:]}")
        try:
            if requests.get(server.url("/healthz"), timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not come up:\n{server.log_text()[-4000:]}")


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextlib.contextmanager
def serve_api(model_dir: Path | None, log_dir: Path, workers: int = 2, env: dict | None = None,
              via_cli: bool = True) -> Iterator[Server]:
    """Start the API on a free port and stop it afterwards. ``via_cli=False`` runs gunicorn
    directly (``tagger serve`` refuses a model that fails verification up front).
    ``model_dir=None`` starts ``tagger serve`` without ``--model``, as ``make serve`` does."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith("TAGGER_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    full_env = {**inherited, "TAGGER_ACCESS_LOG": "-", **(env or {})}
    if model_dir is not None:
        full_env["TAGGER_MODEL"] = str(model_dir)
    if via_cli:
        command = [str(VENV_BIN / "tagger"), "serve", "--host", "127.0.0.1", "--port",
                   str(port), "--workers", str(workers)]
        if model_dir is not None:
            command += ["--model", str(model_dir)]
    else:
        from tagger.cli.serve import gunicorn_command

        command = gunicorn_command("127.0.0.1", port, workers, 4)
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env=full_env, cwd=log_dir)
    server = Server(f"http://127.0.0.1:{port}", process, model_dir, log_path, full_env)
    try:
        _wait_until_up(server)
        yield server
    finally:
        stop(server)


def model_copy(source: Path, dest: Path, version: str | None = None) -> Path:
    """Copy a model directory; optionally give it another ``model_version`` (the manifest is
    not among the checksummed files, so the copy still verifies)."""
    shutil.copytree(source, dest)
    if version is not None:
        manifest_path = dest / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["model_version"] = version
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return dest


def tamper(model_dir: Path) -> Path:
    """Flip one byte in the middle of ``model.joblib``."""
    path = model_dir / "model.joblib"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return model_dir


def switchable_model(small_model: Path, root: Path) -> Path:
    """``root/current`` -> ``root/v1`` (a copy of ``small_model``)."""
    root.mkdir(parents=True, exist_ok=True)
    model_copy(small_model, root / "v1")
    link = root / "current"
    link.symlink_to(root / "v1")
    return link


@pytest.fixture(scope="session")
def api_server(small_model, tmp_path_factory) -> Iterator[Server]:
    """The shared server: 2 workers, admin token, small limits (``LIMITS``)."""
    root = tmp_path_factory.mktemp("api")
    link = switchable_model(small_model, root / "models")
    with serve_api(link, root, workers=2,  # the feeds' database: here, not in $HOME
                   env={"TAGGER_ADMIN_TOKEN": ADMIN_TOKEN, "TAGGER_DATA_DIR": str(root),
                        **LIMITS}) as server:
        yield server


@pytest.fixture()
def api(api_server) -> Server:
    """``api_server``, checked to be still alive after each test."""
    yield api_server
    assert api_server.process.poll() is None, api_server.log_text()[-3000:]
