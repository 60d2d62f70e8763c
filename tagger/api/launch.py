"""The gunicorn command line for the API, shared by ``tagger serve`` and the benchmarks (kept
out of ``tagger.cli`` so that starting a server imports nothing but the API)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def gunicorn_command(host: str, port: int, workers: int, threads: int) -> list[str]:
    """The gunicorn command line. The default worker runs the ASGI bridge
    (``tagger.api.asgi``); ``$TAGGER_WORKER_CLASS=gthread|sync`` (benchmarks) the WSGI app."""
    config = Path(__file__).resolve().parent / "gunicorn_conf.py"
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    plain_wsgi = os.environ.get("TAGGER_WORKER_CLASS", "tagger") != "tagger"
    return [sys.executable, "-m", "gunicorn", "--config", str(config), "--bind", address,
            "--workers", str(workers), "--threads", str(threads),
            "tagger.api.wsgi:app" if plain_wsgi else "tagger.api.asgi:app"]
