"""``/metrics`` parsed with prometheus_client's own parser (counts aggregated over the
gunicorn workers), and ``tagger serve`` argument and model checks."""

from __future__ import annotations

import subprocess
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from tagger.api.metrics import FLUSH_SECONDS
from tests.api.conftest import VENV_BIN, model_copy, tamper

ABSTRACT = "Causal discovery of a causal graph by structure learning on a dag."


def scrape(server) -> dict:
    response = requests.get(server.url("/metrics"), timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, metric: str, **labels) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_latency_tags_and_model(api):
    # Each worker writes its counts once per FLUSH_SECONDS (the scraped worker also just
    # before answering): earlier tests' requests are all written after two intervals, and
    # this test's show within one.
    time.sleep(2 * FLUSH_SECONDS)
    before = scrape(api)
    n = 12
    themes: dict[str, int] = {}
    for _ in range(n):  # fresh connections, so the requests spread over both workers
        body = requests.post(api.url("/v1/tag"), json={"abstract": ABSTRACT}, timeout=30).json()
        for tag in body["tags"]:
            themes[tag["theme"]] = themes.get(tag["theme"], 0) + 1
    requests.get(api.url("/no/such/path"), timeout=30)
    assert themes, "the test abstract should get at least one tag"
    labels = {"endpoint": "/v1/tag", "method": "POST", "status": "200"}
    hist = {"endpoint": "/v1/tag", "status": "200"}

    def grown(after: dict, metric: str, **labels) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    def expected(after: dict) -> bool:
        return (grown(after, "tagger_http_requests_total", **labels) == n
                and grown(after, "tagger_http_request_duration_seconds_count", **hist) == n
                and value(after, "tagger_http_requests_total", endpoint="unmatched",
                          method="GET", status="404") >= 1
                and grown(after, "tagger_documents_tagged_total") == n
                and all(grown(after, "tagger_tags_predicted_total", theme=theme) == count
                        for theme, count in themes.items()))

    deadline = time.monotonic() + 10 * FLUSH_SECONDS
    after = scrape(api)
    while not expected(after) and time.monotonic() < deadline:
        time.sleep(FLUSH_SECONDS / 4)
        after = scrape(api)
    assert grown(after, "tagger_http_requests_total", **labels) == n
    assert grown(after, "tagger_http_request_duration_seconds_count", **hist) == n
    assert value(after, "tagger_http_request_duration_seconds_bucket", le="+Inf", **hist) == \
        value(after, "tagger_http_request_duration_seconds_count", **hist)
    assert value(after, "tagger_http_requests_total", endpoint="unmatched", method="GET",
                 status="404") >= 1
    for theme, count in themes.items():
        assert grown(after, "tagger_tags_predicted_total", theme=theme) == count
    assert grown(after, "tagger_documents_tagged_total") == n
    model = requests.get(api.url("/v1/model"), timeout=30).json()["model"]
    assert value(after, "tagger_model_info", name=model["name"],
                 version=model["version"]) == 1


def run_serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "tagger"), "serve", *args], capture_output=True,
                          text=True, timeout=120)


def test_serve_refuses_a_tampered_model_before_starting(small_model, tmp_path):
    bad = tamper(model_copy(small_model, tmp_path / "bad"))
    completed = run_serve("--port", "1", "--model", str(bad))
    assert completed.returncode == 1
    assert "model.joblib" in completed.stderr and "checksum" in completed.stderr


def test_serve_rejects_a_bad_port_as_a_usage_error(small_model):
    completed = run_serve("--port", "70000", "--model", str(small_model))
    assert completed.returncode == 2 and "--port" in completed.stderr
