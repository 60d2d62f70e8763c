"""``POST /v1/feedback`` and ``GET /v1/labels/export`` on a real gunicorn with a SQLite label
store, the review routes switched off without reviewer tokens, and the round trip
feedback -> export -> ``tagger train --labels-db`` that changes a corrected paper's tag."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.api.conftest import serve_api
from tests.conftest import make_labelled_corpus, write_jsonl

TAGGER = str(Path(sys.executable).parent / "tagger")
ANN, BOB = "ann-token-0001", "bob-token-0002"


def quokka_papers(n: int = 8) -> list[dict]:
    """Generated papers with a vocabulary no theme uses (no real abstract)."""
    rng = random.Random(3)
    words = ["quokka", "wallaby", "marsupial", "burrow", "island", "pouch"]
    filler = ["we", "propose", "a", "novel", "method", "that", "improves", "results", "on",
              "data", "study"]
    return [{"id": f"q-{i}", "title": "Quokka burrow study",
             "abstract": " ".join(rng.choice(words if rng.random() < 0.4 else filler)
                                  for _ in range(50)), "tags": []} for i in range(n)]


@pytest.fixture(scope="module")
def review_api(small_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback")
    tokens = root / "tokens.txt"
    tokens.write_text(f"# reviewers\nbob={BOB}\n", encoding="utf-8")
    env = {"TAGGER_REVIEW_TOKENS": f"ann={ANN}", "TAGGER_REVIEW_TOKENS_FILE": str(tokens),
           "TAGGER_DB": str(root / "labels.db")}
    with serve_api(small_model, root, workers=2, env=env) as server:
        server.db = root / "labels.db"
        yield server


def post(server, body, token=ANN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(server.url("/v1/feedback"), json=body, headers=headers, timeout=60,
                         **kwargs)


PAPER = {"id": "fb-1", "title": "Seasonal sensor forecasting",
         "abstract": "We propose a forecasting method for seasonal sensor time series."}


def test_feedback_stores_decisions_and_export_streams_current_labels(review_api):
    first = post(review_api, {**PAPER, "accept": ["time-series"], "reject": ["automl"]})
    assert first.status_code == 201, first.text
    assert first.json() == {"id": "fb-1", "reviewer": "ann", "recorded": 2,
                            "labels": ["time-series"]}
    # A later decision needs only the id; bob (token from the file) adds a theme.
    second = post(review_api, {"id": "fb-1", "add": ["state-space-models"]}, token=BOB)
    assert second.status_code == 201 and second.json()["reviewer"] == "bob"
    assert second.json()["labels"] == ["state-space-models", "time-series"]

    export = requests.get(review_api.url("/v1/labels/export"), timeout=60, stream=True,
                          headers={"Authorization": f"Bearer {BOB}"})
    assert export.status_code == 200
    assert export.headers["Content-Type"].startswith("application/x-ndjson")
    records = {r["id"]: r for r in map(json.loads, export.iter_lines()) if r}
    assert records["fb-1"]["tags"] == ["state-space-models", "time-series"]
    assert records["fb-1"]["reviewers"] == 2 and records["fb-1"]["abstract"] == PAPER["abstract"]

    from tagger.store import open_store

    store = open_store(review_api.db)
    rows = store.decisions("fb-1")
    store.close()
    assert [(d.reviewer, d.theme, d.action) for d in rows] == [
        ("ann", "time-series", "accept"), ("ann", "automl", "reject"),
        ("bob", "state-space-models", "add")]
    assert rows[0].model_version  # the model version that served the request


@pytest.mark.parametrize("token", [None, "wrong-token-123", ANN + "x"])
def test_a_missing_or_wrong_token_is_401(review_api, token):
    response = post(review_api, {**PAPER, "accept": ["time-series"]}, token=token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert requests.get(review_api.url("/v1/labels/export"), timeout=30,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_unknown_theme_is_422_naming_it(review_api):
    response = post(review_api, {**PAPER, "accept": ["time-series"], "add": ["quantum-soup"]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_theme" and "quantum-soup" in error["message"]
    assert error["details"] == {"add": ["unknown theme 'quantum-soup'"]}


@pytest.mark.parametrize("body, field", [
    ({"id": "x", "abstract": "Some text."}, "_schema"),                        # no decision
    ({"abstract": "Some text.", "accept": ["automl"]}, "id"),                   # no id
    ({"id": "x", "abstract": "t", "accept": "automl"}, "accept"),               # not a list
    ({"id": "x", "abstract": "t", "accept": ["automl", "automl"]}, "accept"),
    ({"id": "x", "abstract": "t", "accept": ["automl"], "colour": "red"}, "colour"),
    ({"id": "x", "abstract": "   ", "accept": ["automl"]}, "abstract"),
    ({"id": "x\u0000", "abstract": "t", "accept": ["automl"]}, "id"),
])
def test_malformed_bodies_are_422_with_the_field(review_api, body, field):
    response = post(review_api, body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["details"]


@pytest.mark.parametrize("body, code", [
    ({"id": "x", "abstract": "t", "accept": ["automl"], "reject": ["automl"]},
     "conflicting_decisions"),
    ({"id": "never-stored", "accept": ["automl"]}, "paper_not_stored"),          # no text
])
def test_requests_no_schema_can_refuse_are_409_conflicts(review_api, body, code):
    """A theme in two lists, or a new paper without its text: well-formed requests that
    conflict (with themselves, with the store), answered 409 as the document says."""
    response = post(review_api, body)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == code
    spec = requests.get(review_api.url("/openapi.json"), timeout=30).json()
    assert code in spec["paths"]["/v1/feedback"]["post"]["responses"]["409"]["description"]


def test_the_document_names_the_models_themes(review_api):
    spec = requests.get(review_api.url("/openapi.json"), timeout=30).json()
    themes = [t["id"] for t in requests.get(review_api.url("/v1/themes"), timeout=30)
              .json()["themes"]]
    lists = spec["components"]["schemas"]["FeedbackRequest"]["properties"]
    for key in ("accept", "reject", "add"):
        assert lists[key]["items"]["enum"] == themes and lists[key]["uniqueItems"] is True


def test_bad_json_and_media_type_are_4xx_json(review_api):
    headers = {"Authorization": f"Bearer {ANN}", "Content-Type": "application/json"}
    bad = requests.post(review_api.url("/v1/feedback"), data=b"{nope", headers=headers,
                        timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    headers["Content-Type"] = "text/plain"
    text = requests.post(review_api.url("/v1/feedback"), data=b"{}", headers=headers,
                         timeout=30)
    assert text.status_code == 415 and text.json()["error"]["code"] == "unsupported_media_type"


def test_openapi_lists_the_review_routes_when_enabled(review_api):
    spec = requests.get(review_api.url("/openapi.json"), timeout=30).json()
    assert {"/v1/feedback", "/v1/labels/export", "/v1/review/next"} <= set(spec["paths"])
    assert "/v1/admin/reload" not in spec["paths"]  # no admin token on this server
    assert spec["paths"]["/v1/feedback"]["post"]["security"] == [{"reviewerToken": []}]
    assert "FeedbackRequest" in spec["components"]["schemas"]


def test_review_routes_are_404_without_reviewer_tokens(api):
    for method, path in (("post", "/v1/feedback"), ("get", "/v1/labels/export"),
                         ("get", "/review"), ("get", "/v1/review/next"),
                         ("post", "/v1/review/undo")):
        response = requests.request(method, api.url(path), json={}, timeout=30,
                                    headers={"Authorization": f"Bearer {ANN}"})
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    spec = requests.get(api.url("/openapi.json"), timeout=30).json()
    assert not any(path.startswith(("/v1/feedback", "/v1/review", "/v1/labels"))
                   for path in spec["paths"])
    assert "/v1/feedback" not in requests.get(api.url("/docs"), timeout=30).text


def test_feedback_export_train_round_trip_changes_the_corrected_tag(review_api, tmp_path):
    """The quokka papers are in the base training data without a theme; reviewers say they
    are AutoML. Training with the review store flips the tag of those papers."""
    papers = quokka_papers()
    base = write_jsonl(tmp_path / "base.jsonl", make_labelled_corpus() + papers)
    probe = {"id": "probe", "title": papers[0]["title"], "abstract": papers[0]["abstract"]}
    before = requests.post(review_api.url("/v1/tag"), json=probe, timeout=60).json()
    assert "automl" not in [t["theme"] for t in before["tags"]]
    for paper in papers:
        body = {k: paper[k] for k in ("id", "title", "abstract")}
        assert post(review_api, {**body, "add": ["automl"]}).status_code == 201

    export = requests.get(review_api.url("/v1/labels/export"), timeout=60,
                          headers={"Authorization": f"Bearer {ANN}"})
    exported = [json.loads(line) for line in export.text.splitlines()]
    assert all(r["tags"] == ["automl"] for r in exported if r["id"].startswith("q-"))

    # The same records through the CLI, with a decision on a theme that was since removed
    # from the taxonomy: reported, left out, exit 3.
    from tagger.store import open_store

    store = open_store(review_api.db)
    store.record(None, [("retired-theme", "add")], "ann", paper_id="q-0")
    store.close()
    out = tmp_path / "labels.jsonl"
    cli = subprocess.run([TAGGER, "labels", "export", "-o", str(out), "--db",
                          str(review_api.db)], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 3, cli.stderr
    assert "paper q-0: theme 'retired-theme' is not in the taxonomy" in cli.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    q0 = next(r for r in lines if r["id"] == "q-0")
    assert q0["tags"] == ["automl"] and q0["unknown_themes"] == ["retired-theme"]

    model = tmp_path / "model"
    train = subprocess.run([TAGGER, "train", "--data", str(base), "--labels-db",
                            str(review_api.db), "--cv", "0", "--out", str(model)],
                           capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr
    manifest = json.loads((model / "manifest.json").read_text())
    reviews = next(e for e in manifest["training_data"] if e.get("reviews"))
    assert reviews["reviews"]["reviewers"] == 2 and reviews["reviews"]["replaced"] == 8
    assert '"ann"' not in json.dumps(manifest) and '"bob"' not in json.dumps(manifest)
    assert "reviewed labels from the label store" in (model / "MODEL_CARD.md").read_text()

    tagged = subprocess.run([TAGGER, "tag", "-", "--model", str(model)], input=json.dumps(probe),
                            capture_output=True, text=True, timeout=120)
    assert tagged.returncode == 0, tagged.stderr
    assert "automl" in [t["theme"] for t in json.loads(tagged.stdout)["tags"]]
