"""Which model every worker serves after a reload: the reload resolves ``models/current``
once and every worker loads exactly that directory, even if the link is repointed while the
reload runs; ``tagger serve`` without ``--model`` follows ``tagger publish`` on SIGHUP."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import requests

from tests.api.conftest import (
    ADMIN_TOKEN,
    VENV_BIN,
    model_copy,
    serve_api,
    switchable_model,
)

SETTLE_SECONDS = 2.0  # several watcher polls (0.5 s): long enough for a wrong swap


def reload_racing_a_repoint(server, target, racer, delay: float) -> str:
    """Point the link at ``target``, start an admin reload and, ``delay`` seconds later,
    repoint the link at ``racer``; return the version the reload answered with."""
    server.switch_model(target)
    answer: dict = {}

    def reload() -> None:
        response = requests.post(server.url("/v1/admin/reload"), timeout=120,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        answer["status"] = response.status_code
        answer["body"] = response.json()

    thread = threading.Thread(target=reload)
    thread.start()
    time.sleep(delay)
    server.switch_model(racer)
    thread.join()
    assert answer["status"] == 200, answer
    return answer["body"]["model"]["version"]


def test_reload_racing_a_repoint_leaves_every_worker_on_one_version(small_model, tmp_path):
    link = switchable_model(small_model, tmp_path / "models")
    copies = {name: model_copy(small_model, tmp_path / "models" / name, version=name)
              for name in ("race-a", "race-b", "race-c")}
    with serve_api(link, tmp_path, workers=2,
                   env={"TAGGER_ADMIN_TOKEN": ADMIN_TOKEN}) as server:
        rounds = [("race-a", "race-b", 0.0), ("race-b", "race-c", 0.05),
                  ("race-c", "race-a", 0.2)]
        for target, racer, delay in rounds:
            answered = reload_racing_a_repoint(server, copies[target], copies[racer], delay)
            # Whatever the link held at the moment the reload resolved it, all workers agree
            # with the answer, and the repoint alone (no reload) changes nothing later.
            server.wait_for_version(answered)
            time.sleep(SETTLE_SECONDS)
            assert server.served_versions() == {answered}, (target, racer, answered)
            assert server.versions(16) == {answered}, (target, racer, answered)
        log = server.log_text()
        assert "model swapped" in log
        swaps = [line for line in log.splitlines() if "model swapped" in line]
        assert len({line.split('"pid": ')[-1] for line in swaps}) >= 2, swaps  # each worker


def test_serve_without_model_follows_tagger_publish_on_sighup(small_model, tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    env = {"TAGGER_MODELS_ROOT": str(root)}
    with serve_api(None, tmp_path, workers=2, env=env) as server:
        # Nothing published yet: the shipped default model serves.
        assert server.versions(4) != {"published-1"}
        shipped = server.versions(4)
        published = model_copy(small_model, tmp_path / "published-1", version="published-1")
        completed = subprocess.run(
            [str(VENV_BIN / "tagger"), "publish", str(published), "--models-root", str(root)],
            capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
        assert completed.returncode == 0, completed.stderr
        assert server.versions(4) == shipped  # publishing alone does not switch the API
        os.kill(server.master_pid, signal.SIGHUP)
        server.wait_for_version("published-1")
