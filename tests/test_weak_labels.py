"""Weak supervision: the taxonomy's phrase rules (the model's own PhraseIndex) give silver
labels with provenance, the CLI writes them with the usual exit statuses, and training mixes
them with gold data by a weight."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagger.cli import main as tagger_main
from tagger.corpus import Document, read_documents
from tagger.taxonomy import load_taxonomy
from tagger.training.fit import train_tagger
from tagger.training.weak_labels import PhraseRules
from tests.conftest import make_labelled_corpus, write_jsonl
from tests.test_cli import run_tagger

TWICE = ("We study State-Space Models for long sequences. Our state space model uses a "
         "Kalman filter to smooth latent states.")
ONCE = "Unlike state space models, we train a convolutional network for image recognition."


@pytest.fixture(scope="module")
def rules() -> PhraseRules:
    return PhraseRules(load_taxonomy())


def test_two_mentions_give_the_theme_with_provenance(rules):
    doc = Document(id="a", abstract=TWICE)
    record = rules.label(doc)
    assert "state-space-models" in record["tags"]
    evidence = record["provenance"]["state-space-models"]
    assert len(evidence) >= 2
    for match in evidence:
        # Offsets point at the surface text of their field, whatever the case or hyphens.
        assert match["field"] == "abstract"
        assert doc.abstract[match["start"]:match["end"]] == match["text"]
    assert {"State-Space Models", "Kalman filter"} <= {m["text"] for m in evidence}


def test_a_passing_mention_is_not_enough_but_a_title_is(rules):
    assert rules.label(Document(id="b", abstract=ONCE))["tags"] == []
    titled = Document(id="c", title="Selective state space models", abstract="We scale them.")
    record = rules.label(titled)
    assert record["tags"] == ["state-space-models"]
    match = record["provenance"]["state-space-models"][0]
    assert match["field"] == "title"
    assert titled.title[match["start"]:match["end"]] == match["text"]


def test_min_matches_and_theme_filter(rules):
    loose = PhraseRules(load_taxonomy(), min_matches=1)
    assert "state-space-models" in loose.label(Document(id="d", abstract=ONCE))["tags"]
    only_automl = PhraseRules(load_taxonomy(), themes=["automl"], min_matches=1)
    assert only_automl.label(Document(id="e", abstract=TWICE))["tags"] == []
    with pytest.raises(ValueError, match="not-a-theme"):
        PhraseRules(load_taxonomy(), themes=["not-a-theme"])


def test_cli_writes_silver_jsonl_and_reports_bad_records(tmp_path):
    source = tmp_path / "pool.jsonl"
    source.write_text(
        json.dumps({"id": "p1", "title": "", "abstract": TWICE}) + "\n"
        + "{not json\n"
        + json.dumps({"id": "p2", "title": "", "abstract": ONCE}) + "\n"
        + json.dumps({"id": "gold-1", "title": "", "abstract": TWICE + " again"}) + "\n",
        encoding="utf-8")
    gold = write_jsonl(tmp_path / "gold.jsonl",
                       [{"id": "gold-1", "title": "", "abstract": "x", "tags": []}])
    out = tmp_path / "silver.jsonl"
    done = run_tagger("weak-label", str(source), "-o", str(out), "--exclude", str(gold))
    assert done.returncode == 3, done.stderr
    assert f"{source}:2:" in done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["p1"]
    assert "state-space-models" in records[0]["tags"]
    assert "read 3, excluded 1, wrote 1" in done.stderr
    # The output is valid training data.
    silver = list(read_documents(out, labelled=True))
    assert silver[0].tags == tuple(records[0]["tags"])


def test_cli_usage_errors(tmp_path, capsys):
    # In process (the subprocess path is covered above): only exit statuses and messages.
    source = write_jsonl(tmp_path / "pool.jsonl", [{"id": "p", "abstract": TWICE}])
    assert tagger_main(["weak-label", str(source), "--theme", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert tagger_main(["weak-label", str(source), "--min-matches", "0"]) == 2
    assert tagger_main(["weak-label", str(tmp_path / "missing.jsonl")]) == 1


def test_silver_documents_move_the_model_by_their_weight():
    taxonomy = load_taxonomy()
    gold = [Document(id=r["id"], title=r["title"], abstract=r["abstract"], tags=tuple(r["tags"]))
            for r in make_labelled_corpus(n=100)]
    # A word the gold data never uses, tagged automl only in the silver set.
    silver = [Document(id=f"s{i}", abstract=f"zorblax tuning recipe number {i} zorblax",
                       tags=("automl",)) for i in range(15)]
    probe = [Document(id="p", abstract="the zorblax zorblax recipe")]
    automl = taxonomy.index("automl")
    scores = {}
    for name, kwargs in {"none": {}, "light": {"silver": silver, "silver_weight": 0.2},
                         "full": {"silver": silver, "silver_weight": 1.0}}.items():
        tagger, facts = train_tagger(gold, taxonomy, folds=0, **kwargs)
        scores[name] = float(tagger.score(probe)[0, automl])
    assert scores["none"] < scores["light"] < scores["full"]
    assert facts["training"]["silver"] == {"n_documents": 15, "weight": 1.0}
    with pytest.raises(ValueError, match="silver weight"):
        train_tagger(gold, taxonomy, folds=0, silver=silver, silver_weight=0.0)


def test_train_cli_accepts_silver(tmp_path, labelled_corpus):
    silver = write_jsonl(tmp_path / "silver.jsonl", [
        {"id": f"s{i}", "title": "", "abstract": TWICE, "tags": ["state-space-models"]}
        for i in range(5)])
    out = tmp_path / "model"
    done = run_tagger("train", "--data", str(labelled_corpus), "--silver", str(silver),
                      "--silver-weight", "0.5", "--cv", "0", "--out", str(out))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training"]["silver"] == {"n_documents": 5, "weight": 0.5}
    assert [entry.get("silver", False) for entry in manifest["training_data"]] == [False, True]
    assert tagger_main(["train", "--data", str(labelled_corpus), "--silver", str(silver),
                        "--silver-weight", "2", "--out", str(tmp_path / "m2")]) == 2
    assert np.isfinite(manifest["training"]["seconds"])
