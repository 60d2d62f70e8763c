"""Hot reload under load: clients keep sending requests while the model is swapped through
the admin endpoint and SIGHUP to the gunicorn master, and while a tampered model is offered.
Not one request may fail, and a refused model must never be served.

Bounded: 8 client threads, each stops at a fixed request cap or shortly after the reloads
are done (whichever first), against 127.0.0.1 only. Nothing here is timed.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests

from tests.api.conftest import ADMIN_TOKEN, model_copy, tamper

THREADS = 8
MAX_REQUESTS_PER_THREAD = 3000  # a bound, never expected to be reached
REQUESTS_AFTER_RELOADS = 15  # each thread keeps going this long after the last swap
DOCUMENTS = [
    {"id": "ts", "title": "Seasonal sensor forecasting",
     "abstract": "We propose forecasting of seasonal time series from sensor data."},
    {"id": "ssm", "abstract": "A state space model with a kalman filter and selective scan."},
    {"id": "automl", "abstract": "Neural architecture search and hyperparameter optimization."},
    {"id": "off", "abstract": "Galaxy spectra from a telescope survey of the lattice."},
]


@dataclass
class Load:
    """Closed-loop clients; every answer is checked and recorded."""

    base_url: str
    stop_after: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: list = field(default_factory=list)
    versions: Counter = field(default_factory=Counter)
    answers: dict = field(default_factory=dict)  # (version, doc id) -> tags, must not vary
    sent: int = 0
    capped: int = 0

    def run(self, seed: int) -> None:
        session = requests.Session()
        remaining_after_stop = REQUESTS_AFTER_RELOADS
        for n in range(MAX_REQUESTS_PER_THREAD):
            if self.stop_after.is_set():
                if remaining_after_stop == 0:
                    break
                remaining_after_stop -= 1
            self.one(session, seed + n)
        else:
            with self.lock:
                self.capped += 1
        session.close()

    def one(self, session: requests.Session, n: int) -> None:
        batch = n % 4 == 3
        if batch:
            path, body = "/v1/tag/batch", {"documents": DOCUMENTS}
        else:
            path, body = "/v1/tag", {**DOCUMENTS[n % len(DOCUMENTS)], "explain": n % 2 == 0}
        try:
            response = session.post(self.base_url + path, json=body, timeout=60)
            answer = response.json()
            results = answer["results"] if batch else [answer]
            ok = response.status_code == 200 and all(isinstance(r["tags"], list)
                                                      for r in results)
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            with self.lock:
                self.sent += 1
                self.failures.append(f"{path}: {error!r}")
            return
        with self.lock:
            self.sent += 1
            if not ok:
                self.failures.append(f"{path}: {response.status_code} {response.text[:300]}")
                return
            version = answer["model"]["version"]
            self.versions[version] += 1
            for result in results:
                tags = [(t["theme"], t["score"]) for t in result["tags"]]
                key = (version, result["id"])
                if self.answers.setdefault(key, tags) != tags:
                    self.failures.append(f"{key}: tags changed {self.answers[key]} -> {tags}")


def wait_until(condition, seconds: float = 60) -> None:
    """Poll a condition with a generous bound (asynchronous signal handling, not speed)."""
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.2)


def admin_reload(server) -> requests.Response:
    return requests.post(server.url("/v1/admin/reload"), timeout=120,
                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


@pytest.fixture()
def models(api_server, tmp_path):
    """Two good versions of the small model and a tampered one; the shared server's model
    pointer and served model are restored afterwards whatever happens."""
    original = os.readlink(api_server.model_dir)
    (original_version,) = api_server.served_versions()
    made = {
        "a": model_copy(api_server.model_dir.resolve(), tmp_path / "a", version="load-a"),
        "b": model_copy(api_server.model_dir.resolve(), tmp_path / "b", version="load-b"),
        "tampered": tamper(model_copy(api_server.model_dir.resolve(), tmp_path / "t",
                                      version="load-tampered")),
    }
    yield made
    api_server.switch_model(original)
    assert admin_reload(api_server).status_code == 200
    api_server.wait_for_version(original_version)


def run_under_load(server, swaps) -> Load:
    """Start the clients, call ``swaps()`` while they run, let them finish."""
    load = Load(server.base_url)
    threads = [threading.Thread(target=load.run, args=(k * 1000,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        swaps()
    finally:
        load.stop_after.set()
        for thread in threads:
            thread.join()
    assert load.capped == 0, "request cap reached before the swaps were done"
    return load


def test_reloads_by_admin_endpoint_and_sighup_under_load_fail_no_request(api, models):
    before = api.versions()

    def swaps():
        for _ in range(3):
            api.switch_model(models["b"])
            assert admin_reload(api).status_code == 200
            api.wait_for_version("load-b")
            api.switch_model(models["a"])
            os.kill(api.master_pid, signal.SIGHUP)
            api.wait_for_version("load-a")

    load = run_under_load(api, swaps)
    assert load.failures == []
    assert load.versions["load-a"] > 0 and load.versions["load-b"] > 0
    assert set(load.versions) <= {"load-a", "load-b", *before}


def test_tampered_model_offered_under_load_is_refused_and_the_old_one_keeps_serving(
        api, models):
    def swaps():
        api.switch_model(models["a"])
        assert admin_reload(api).status_code == 200
        api.wait_for_version("load-a")
        api.switch_model(models["tampered"])
        refused = admin_reload(api)
        assert refused.status_code == 409
        assert "model.joblib" in refused.json()["error"]["details"]["reason"]
        refusals = api.log_text().count("SIGHUP: reload refused")
        os.kill(api.master_pid, signal.SIGHUP)  # refused too, logged by the master
        wait_until(lambda: api.log_text().count("SIGHUP: reload refused") > refusals)
        assert api.versions() == {"load-a"} == api.served_versions()

    load = run_under_load(api, swaps)
    assert load.failures == []
    assert "load-tampered" not in load.versions
    assert load.versions["load-a"] > 0
    assert requests.get(api.url("/readyz"), timeout=30).status_code == 200
