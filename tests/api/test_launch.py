"""`tagger serve` starts gunicorn with the glibc malloc settings that keep worker memory flat
across model reloads (benchmarks/soak.py), unless the operator set them."""

from __future__ import annotations

from pathlib import Path

from tagger.api.launch import MALLOC_DEFAULTS, server_environment
from tests.api.conftest import serve_api


def process_environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_the_operators_settings_win_over_the_defaults():
    env = server_environment({"MALLOC_ARENA_MAX": "8", "PATH": "/bin"})
    assert env["MALLOC_ARENA_MAX"] == "8" and env["PATH"] == "/bin"
    assert env["MALLOC_MMAP_THRESHOLD_"] == MALLOC_DEFAULTS["MALLOC_MMAP_THRESHOLD_"]


def test_tagger_serve_runs_gunicorn_with_the_malloc_settings(small_model, tmp_path, monkeypatch):
    for name in MALLOC_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    with serve_api(small_model, tmp_path, workers=1) as server:
        # tagger serve execs gunicorn: its pid is the gunicorn master, whose workers inherit
        environment = process_environment(server.process.pid)
        assert server.process.poll() is None
    for name, value in MALLOC_DEFAULTS.items():
        assert environment.get(name) == value, name
