"""Every endpoint of a real gunicorn, over real HTTP: shapes, numbers, consistency."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests

from tagger.api import schemas
from tests.api.conftest import VENV_BIN

TEXTS = [
    ("Kalman filter forecasting", "We propose a state space model with a Kalman filter and "
     "latent state for forecasting seasonal sensor time series over a long horizon."),
    ("", "Neural architecture search and hyperparameter optimization for automl pipeline "
     "search over a configuration search space."),
    ("Causal graphs", "Causal discovery of a causal graph by structure learning with "
     "conditional independence tests on a dag."),
    ("Telescope spectra", "Galaxy spectra from the telescope, a lattice theorem on a "
     "manifold, and soil enzyme protein market price."),
]


def post(server, path, payload, **kwargs):
    return requests.post(server.url(path), json=payload, timeout=60, **kwargs)


def test_tag_returns_tags_with_labels_and_model(api):
    response = post(api, "/v1/tag", {"id": "p1", "title": TEXTS[0][0], "abstract": TEXTS[0][1]})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert schemas.TagResponseSchema().validate(body) == {}
    assert body["id"] == "p1"
    assert body["model"]["name"] == "small"
    themes = [tag["theme"] for tag in body["tags"]]
    assert "state-space-models" in themes
    assert all(tag["label"] and 0 <= tag["score"] <= 1 for tag in body["tags"])
    assert [t["score"] for t in body["tags"]] == sorted((t["score"] for t in body["tags"]),
                                                        reverse=True)
    assert "scores" not in body and "evidence" not in body


def test_off_topic_abstract_gets_no_tags_and_null_id(api):
    body = post(api, "/v1/tag", {"abstract": TEXTS[3][1]}).json()
    assert body["tags"] == [] and body["id"] is None


def test_explain_and_all_scores(api):
    title, abstract = TEXTS[0]
    body = post(api, "/v1/tag", {"title": "  " + title + "  ", "abstract": abstract + "\n",
                                 "explain": True, "all_scores": True}).json()
    assert schemas.TagResponseSchema().validate(body) == {}
    assert len(body["scores"]) == 19
    for tag in body["tags"]:
        assert body["scores"][tag["theme"]] == tag["score"]
    assert set(body["evidence"]) == {tag["theme"] for tag in body["tags"]}
    fields = {"title": title, "abstract": abstract}
    spans = [span for records in body["evidence"].values() for r in records
             for span in r["spans"]]
    assert spans
    for span in spans:  # offsets index the normalised (stripped) fields
        assert 0 <= span["start"] < span["end"] <= len(fields[span["field"]])
    marked = {fields[s["field"]][s["start"]:s["end"]].lower() for s in spans}
    assert "kalman filter" in marked


def test_batch_matches_single_requests_in_order(api):
    documents = [{"id": f"d{i}", "title": title, "abstract": abstract,
                  "explain": i % 2 == 0, "all_scores": i < 2}
                 for i, (title, abstract) in enumerate(TEXTS)]
    response = post(api, "/v1/tag/batch", {"documents": documents})
    assert response.status_code == 200
    body = response.json()
    assert schemas.TagBatchResponseSchema().validate(body) == {}
    assert [r["id"] for r in body["results"]] == ["d0", "d1", "d2", "d3"]
    for document, result in zip(documents, body["results"], strict=True):
        single = post(api, "/v1/tag", document).json()
        single.pop("model")
        assert result == single
        assert ("scores" in result) == document["all_scores"]
        assert ("evidence" in result) == document["explain"]
    assert body["model"]["name"] == "small"


def test_cli_and_api_give_the_same_numbers(api, tmp_path):
    records = [{"id": f"r{i}", "title": t, "abstract": a} for i, (t, a) in enumerate(TEXTS)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    completed = subprocess.run(
        [str(VENV_BIN / "tagger"), "tag", str(path), "--model", str(api.model_dir),
         "--explain", "--all-scores"], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    cli = [json.loads(line) for line in completed.stdout.splitlines()]
    body = post(api, "/v1/tag/batch", {"documents": [
        {**r, "explain": True, "all_scores": True} for r in records]}).json()
    assert len(cli) == len(body["results"]) == len(records)
    for from_cli, from_api in zip(cli, body["results"], strict=True):
        assert from_api["id"] == from_cli["id"]
        assert from_api["tags"] == from_cli["tags"]
        assert from_api["scores"] == from_cli["scores"]
        assert from_api["evidence"] == from_cli["evidence"]


def test_themes_lists_the_models_taxonomy(api):
    body = requests.get(api.url("/v1/themes"), timeout=30).json()
    assert schemas.ThemesResponseSchema().validate(body) == {}
    ids = [theme["id"] for theme in body["themes"]]
    assert len(ids) == 19 and "time-series" in ids
    assert all(theme["label"] and theme["description"] for theme in body["themes"])


def test_model_returns_the_manifest_on_disk(api):
    body = requests.get(api.url("/v1/model"), timeout=30).json()
    on_disk = json.loads((api.model_dir / "manifest.json").read_text(encoding="utf-8"))
    assert body["manifest"] == on_disk
    assert body["model"] == {"name": on_disk["name"], "version": on_disk["model_version"]}
    assert "cv_metrics" in body["manifest"] or "training" in body["manifest"]


def test_health_and_readiness(api):
    assert requests.get(api.url("/healthz"), timeout=30).json() == {"status": "ok"}
    ready = requests.get(api.url("/readyz"), timeout=30)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["model"]["name"] == "small"


def test_the_served_model_scores_single_abstracts_by_compiled_code(api):
    """The real server (gunicorn, preloaded master) compiles the model it loads: the
    throughput target rests on it, so a platform where it silently fell back would show
    here (the fallback logs a warning instead)."""
    log = api.log_text()
    assert "single abstracts scored by compiled code (small" in log, log[-3000:]
    assert "take the string path" not in log


def test_every_response_carries_a_request_id(api):
    ids = set()
    for method, path in [("get", "/healthz"), ("get", "/nope"), ("post", "/v1/tag")]:
        response = requests.request(method, api.url(path), timeout=30)
        assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-ID"])
        ids.add(response.headers["X-Request-ID"])
    assert len(ids) == 3
    echoed = requests.get(api.url("/healthz"), headers={"X-Request-ID": "client-abc.1"},
                          timeout=30)
    assert echoed.headers["X-Request-ID"] == "client-abc.1"
    unsafe = requests.get(api.url("/healthz"), headers={"X-Request-ID": "a b<script>"},
                          timeout=30)
    assert unsafe.headers["X-Request-ID"] != "a b<script>"


def test_openapi_document_comes_from_the_schemas(api):
    spec = requests.get(api.url("/openapi.json"), timeout=30).json()
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/tag", "/v1/tag/batch", "/v1/themes", "/v1/model", "/healthz",
                 "/readyz", "/metrics", "/v1/admin/reload"):
        assert path in spec["paths"]
    request_schema = spec["components"]["schemas"]["TagRequest"]
    assert request_schema["required"] == ["abstract"]
    assert request_schema["additionalProperties"] is False
    assert request_schema["properties"]["abstract"]["maxLength"] == 5000  # TAGGER_MAX_...
    batch = spec["components"]["schemas"]["TagBatchRequest"]["properties"]["documents"]
    assert (batch["minItems"], batch["maxItems"]) == (1, 8)


def test_docs_page_renders_the_spec_offline(api):
    response = requests.get(api.url("/docs"), timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(
        "text/html")
    for needle in ("/v1/tag/batch", "TagRequest", "abstract", "422"):
        assert needle in response.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text)


@pytest.mark.parametrize("path", ["/"])
def test_demo_page_is_self_contained(api, path):
    response = requests.get(api.url(path), timeout=30)
    assert response.status_code == 200
    html = response.text
    for element in ('id="title"', 'id="abstract"', 'id="tag-button"', 'id="chips"',
                    'id="hl-abstract"', "/v1/tag", "explain: true"):
        assert element in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script src" not in html and "<link" not in html
