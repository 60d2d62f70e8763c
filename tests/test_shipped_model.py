"""The committed ``models/default`` verifies, loads and tags the seed corpus: a fresh clone
tags without training."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tagger.artifact import load_model, verify_model_dir
from tests.conftest import REPO, SHIPPED_MODEL
from tests.test_taxonomy import GUIDELINE_IDS

MAX_BYTES = 20 * 1024 * 1024


def test_shipped_model_verifies_and_is_small():
    manifest = verify_model_dir(SHIPPED_MODEL)
    assert manifest["name"] == "default"
    assert [theme["id"] for theme in manifest["taxonomy"]["themes"]] == GUIDELINE_IDS
    assert sorted(entry["file"] for entry in manifest["training_data"]) == [
        "arxiv_train.jsonl", "feed_train.jsonl", "seed.jsonl", "unlabelled.jsonl"]
    assert [e["file"] for e in manifest["training_data"] if e.get("unlabelled")] == [
        "unlabelled.jsonl"]
    assert manifest["cv_metrics"]["micro_f1"] > 0.5
    assert sum(path.stat().st_size for path in SHIPPED_MODEL.iterdir()) < MAX_BYTES


def test_shipped_model_was_trained_on_the_shared_labels(shared_dir):
    import hashlib

    manifest = verify_model_dir(SHIPPED_MODEL)
    for entry in manifest["training_data"]:
        folder = shared_dir / "corpus" / ("" if entry.get("unlabelled") else "labels")
        data = (folder / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert data.count(b"\n") == entry["records"], entry["file"]


def test_shipped_model_tags_the_seed_corpus(shared_dir, tmp_path):
    seed = shared_dir / "corpus" / "seed_papers.jsonl"
    out = tmp_path / "out.jsonl"
    env = {key: value for key, value in os.environ.items() if key != "TAGGER_MODEL"}
    result = subprocess.run(
        [sys.executable, "-m", "tagger", "tag", str(seed), "-o", str(out),
         "--model", str(SHIPPED_MODEL)],
        capture_output=True, text=True, cwd=REPO, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "tagged 238, skipped 0"
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(results) == 238
    seed_ids = [json.loads(line)["id"] for line in seed.read_text().splitlines()]
    assert [r["id"] for r in results] == seed_ids
    for result_record in results:
        assert set(result_record) == {"id", "tags"}
        for tag in result_record["tags"]:
            assert tag["theme"] in GUIDELINE_IDS and 0 <= tag["score"] <= 1
    assert sum(bool(r["tags"]) for r in results) > 100  # the seed set is mostly on-theme


def test_shipped_model_loads_in_process():
    tagger = load_model(SHIPPED_MODEL)
    assert tagger.taxonomy.ids == GUIDELINE_IDS
    from tagger.corpus import Document

    result = tagger.tag([Document(id="x", abstract=(
        "We propose a diffusion model for image generation: a denoising diffusion "
        "probabilistic model with classifier-free guidance improves FID on ImageNet."))])[0]
    assert "diffusion-models" in {tag["theme"] for tag in result["tags"]}


def test_shipped_model_parameters_are_readable():
    """A model saved by an earlier version still answers ``get_params`` (``repr`` and
    ``clone`` use it) after the estimators gained parameters: the shipped model predates
    ``cv_repeats`` and ``idf_reference`` and reads them as the defaults it was fitted
    with."""
    from sklearn.base import clone

    estimator = load_model(SHIPPED_MODEL).estimator
    params = estimator.get_params()
    assert params["classifier__cv_repeats"] == 1
    assert params["features__idf_reference"] is None
    assert "ThemeClassifier(" in repr(estimator)
    assert clone(estimator).get_params()["classifier__C"] == params["classifier__C"]
