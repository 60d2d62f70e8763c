"""Model reload through the admin endpoint and SIGHUP, on a dedicated 2-worker gunicorn:
token checks, every worker switching, tampered models refused while the old one serves."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import ADMIN_TOKEN, model_copy, serve_api, switchable_model, tamper

TEXT = {"abstract": "Kalman filter state space model for forecasting sensor time series."}


@pytest.fixture(scope="module")
def reload_server(small_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("reload")
    link = switchable_model(small_model, root / "models")
    with serve_api(link, root, workers=2, env={"TAGGER_ADMIN_TOKEN": ADMIN_TOKEN}) as server:
        server.original = os.readlink(link)
        server.models = root / "models"
        yield server


@pytest.fixture()
def server(reload_server):
    """Each test starts from the original model and leaves the server alive."""
    yield reload_server
    assert reload_server.process.poll() is None, reload_server.log_text()[-3000:]
    reload_server.switch_model(reload_server.original)


def reload(server, token: str | None = ADMIN_TOKEN, scheme: str = "Bearer"):
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return requests.post(server.url("/v1/admin/reload"), headers=headers, timeout=120)


def original_version(server) -> str:
    """The one version every live worker serves now."""
    (version,) = server.served_versions()
    return version


@pytest.mark.parametrize("token, scheme", [(None, "Bearer"), ("wrong", "Bearer"),
                                           (ADMIN_TOKEN + "x", "Bearer"), ("", "Bearer"),
                                           (ADMIN_TOKEN, "Basic")])
def test_reload_without_the_right_token_is_401(server, token, scheme):
    response = reload(server, token, scheme)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_reload_switches_every_worker_to_the_new_model(server):
    before = original_version(server)
    server.switch_model(model_copy(server.models / "v1", server.models / "v2", "test-v2"))
    response = reload(server)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "reloaded" and body["model"]["version"] == "test-v2"
    server.wait_for_version("test-v2")
    tagged = requests.post(server.url("/v1/tag"), json=TEXT, timeout=30).json()
    assert tagged["model"]["version"] == "test-v2" and tagged["tags"]
    # back to the original through the same path
    server.switch_model(server.original)
    assert reload(server).json()["model"]["version"] == before
    server.wait_for_version(before)


def test_reload_to_a_tampered_model_is_refused_and_the_old_one_keeps_serving(server):
    before = original_version(server)
    tampered = tamper(model_copy(server.models / "v1", server.models / "bad", "test-bad"))
    server.switch_model(tampered)
    response = reload(server)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "model_rejected"
    assert "model.joblib" in error["details"]["reason"]
    assert "checksum" in error["details"]["reason"]
    assert server.versions() == {before} == server.served_versions()
    assert requests.get(server.url("/readyz"), timeout=30).status_code == 200
    tagged = requests.post(server.url("/v1/tag"), json=TEXT, timeout=30)
    assert tagged.status_code == 200 and tagged.json()["model"]["version"] == before


def test_sighup_to_the_master_reloads_every_worker(server):
    server.switch_model(model_copy(server.models / "v1", server.models / "v3", "test-v3"))
    os.kill(server.master_pid, signal.SIGHUP)
    server.wait_for_version("test-v3")
    server.switch_model(server.original)
    os.kill(server.master_pid, signal.SIGHUP)
    server.wait_for_version(original_version_on_disk(server))


def original_version_on_disk(server) -> str:
    manifest = json.loads((server.models / server.original / "manifest.json").read_text())
    return manifest["model_version"]


def test_sighup_with_a_tampered_model_keeps_the_old_one(server):
    before = original_version(server)
    bad = server.models / "bad-hup"
    server.switch_model(tamper(model_copy(server.models / "v1", bad, "test-bad-hup")))
    os.kill(server.master_pid, signal.SIGHUP)
    for _ in range(100):  # wait for the master to log its decision
        if "reload refused" in server.log_text():
            break
        time.sleep(0.1)
    assert "reload refused" in server.log_text()
    assert server.process.poll() is None
    assert server.versions() == {before} == server.served_versions()


def test_the_token_never_appears_in_the_logs(server):
    reload(server)
    reload(server, "wrong-" + ADMIN_TOKEN)
    assert ADMIN_TOKEN not in server.log_text()


def test_rejected_reloads_are_counted_in_metrics(server):
    server.switch_model(tamper(model_copy(server.models / "v1", server.models / "bad-m")))
    assert reload(server).status_code == 409
    text = requests.get(server.url("/metrics"), timeout=30).text
    samples = {(s.name, s.labels.get("result")): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("tagger_model_reloads_total", "rejected")] >= 1


@pytest.fixture(scope="module")
def broken_server(small_model, tmp_path_factory):
    """Started on a tampered model (bare gunicorn: ``tagger serve`` would refuse it), with
    no admin token and a metrics directory the test controls."""
    root = tmp_path_factory.mktemp("broken")
    model = tamper(model_copy(small_model, root / "bad"))
    metrics_dir = root / "metrics"
    with serve_api(model, root, workers=1, via_cli=False,
                   env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}) as server:
        server.metrics_dir = metrics_dir
        yield server


def test_without_a_model_readiness_and_tagging_are_503(broken_server):
    assert requests.get(broken_server.url("/healthz"), timeout=30).status_code == 200
    for response in (requests.get(broken_server.url("/readyz"), timeout=30),
                     requests.post(broken_server.url("/v1/tag"), json=TEXT, timeout=30),
                     requests.get(broken_server.url("/v1/themes"), timeout=30)):
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "not_ready" and "model.joblib" in error["details"]["reason"]


def test_admin_is_404_when_no_token_is_configured(broken_server):
    for headers in ({}, {"Authorization": "Bearer anything"}):
        response = requests.post(broken_server.url("/v1/admin/reload"), headers=headers,
                                 timeout=30)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_unexpected_failure_is_500_with_request_id_and_no_trace(broken_server):
    """A real failure: the Prometheus directory vanishes under the running server."""
    shutil.rmtree(broken_server.metrics_dir)
    response = requests.get(broken_server.url("/metrics"), timeout=30)
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    error = response.json()["error"]
    assert error["code"] == "internal_error" and error["details"] == {"request_id": request_id}
    assert request_id in error["message"]
    assert "Traceback" not in response.text and "File " not in response.text
    log = broken_server.log_text()
    assert f"unhandled error in request {request_id}" in log and "Traceback" in log
    # the server keeps answering
    assert requests.get(broken_server.url("/healthz"), timeout=30).status_code == 200
