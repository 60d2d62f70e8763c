"""The gunicorn command line for the API, shared by ``tagger serve`` and the benchmarks (kept
out of ``tagger.cli`` so that starting a server imports nothing but the API)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

# glibc malloc settings for the server processes; glibc reads them once, at process start,
# so they go into the environment gunicorn is started with. Two arenas per process instead of
# one per thread, and every allocation over 128 KiB its own mmap (the default threshold
# rises as large blocks are freed, after which a reloaded model's big arrays come from the
# heap and stay there fragmented). The 300 s soak (benchmarks/README.md): worker RSS +17.5%
# and +11.6% without them, +4.0% with them, flat after the first reload.
MALLOC_DEFAULTS = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}


def server_environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with :data:`MALLOC_DEFAULTS` added where the operator has not set them."""
    return {**MALLOC_DEFAULTS, **base}


def gunicorn_command(host: str, port: int, workers: int, threads: int) -> list[str]:
    """The gunicorn command line. The default worker runs the ASGI bridge
    (``tagger.api.asgi``); ``$TAGGER_WORKER_CLASS=gthread|sync`` (benchmarks) the WSGI app."""
    config = Path(__file__).resolve().parent / "gunicorn_conf.py"
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    plain_wsgi = os.environ.get("TAGGER_WORKER_CLASS", "tagger") != "tagger"
    return [sys.executable, "-m", "gunicorn", "--config", str(config), "--bind", address,
            "--workers", str(workers), "--threads", str(threads),
            "tagger.api.wsgi:app" if plain_wsgi else "tagger.api.asgi:app"]
