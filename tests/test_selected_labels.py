"""Gold labels of a selected sample (boundary, keyword or review-queue picks): they train the
regressions like any gold label, but only their random part tunes thresholds, so a sample rich
in positives does not lower every threshold (``tagger train --selected``)."""

from __future__ import annotations

import json

import numpy as np

from tagger.cli import main as tagger_main
from tagger.corpus import Document, read_documents
from tagger.taxonomy import load_taxonomy
from tagger.training.fit import train_tagger
from tests.conftest import make_labelled_corpus, write_jsonl
from tests.test_cli import run_tagger


def gold_documents(n: int = 120) -> list[Document]:
    return [Document(id=r["id"], title=r["title"], abstract=r["abstract"], tags=tuple(r["tags"]))
            for r in make_labelled_corpus(n=n)]


def boundary_sample(n: int = 40) -> list[Document]:
    """A selected sample: every paper a positive of one theme (no random part)."""
    return [Document(id=f"b{i}", abstract=f"zorblax search over pipelines number {i} zorblax",
                     tags=("automl",), selection="automl:band") for i in range(n)]


def test_selected_rows_train_the_weights_but_not_the_thresholds():
    taxonomy = load_taxonomy()
    gold, selected = gold_documents(), boundary_sample()
    automl = taxonomy.index("automl")
    probe = [Document(id="p", abstract="the zorblax zorblax search")]
    plain, _ = train_tagger(gold, taxonomy, folds=0, seed=0)
    as_gold, _ = train_tagger(gold + selected, taxonomy, folds=0, seed=0)
    tuned, facts = train_tagger(gold, taxonomy, folds=0, seed=0, selected=selected)
    # the regressions learn from the selected rows exactly as from gold rows
    np.testing.assert_allclose(tuned.estimator.classifier_.coef_,
                               as_gold.estimator.classifier_.coef_, rtol=1e-5, atol=1e-6)
    assert float(tuned.score(probe)[0, automl]) > float(plain.score(probe)[0, automl])
    # but the threshold comes from the gold rows alone, not from a sample that is all positive
    assert tuned.estimator.thresholds_[automl] != as_gold.estimator.thresholds_[automl]
    assert facts["training"]["selected"]["n_documents"] == 40
    assert facts["training"]["selected"]["tuning_documents"] == 0
    assert facts["training"]["selected"]["positives"]["automl"] == 40


def test_the_random_part_of_a_selected_file_tunes_thresholds(tmp_path, labelled_corpus):
    records = [{"id": d.id, "title": "", "abstract": d.abstract, "tags": list(d.tags),
                "selection": d.selection} for d in boundary_sample(20)]
    records += [{"id": f"r{i}", "title": "", "abstract": f"a survey of soil number {i}",
                 "tags": [], "selection": "random"} for i in range(10)]
    path = write_jsonl(tmp_path / "feed.jsonl", records)
    assert [d.selection for d in read_documents(path, labelled=True)][-1] == "random"
    out = tmp_path / "model"
    done = run_tagger("train", "--data", str(labelled_corpus), "--selected", str(path),
                      "--selected-weight", "0.5", "--cv", "0", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "+ 30 selected" in done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training"]["selected"]["tuning_documents"] == 10
    assert manifest["training"]["selected"]["weight"] == 0.5
    assert [e.get("selected", False) for e in manifest["training_data"]] == [False, True]
    assert "selected sample" in (out / "MODEL_CARD.md").read_text()
    assert tagger_main(["train", "--data", str(labelled_corpus), "--selected", str(path),
                        "--selected-weight", "0", "--out", str(tmp_path / "m2")]) == 2


def test_no_theme_share_weights_papers_without_a_theme_in_tuning_only():
    """``no_theme_share``: training papers without a theme are weighted, in threshold tuning
    only, to that share of the tuning rows; the regressions are those of a plain fit, and a
    larger share raises the thresholds (fewer tags on a mostly off-topic stream)."""
    from tagger.training.fit import no_theme_factor

    taxonomy = load_taxonomy()
    rng = np.random.default_rng(3)
    words = ["search space", "configuration", "forecasting", "temporal", "the", "results"]
    # papers without a theme that use the themes' words: where thresholds must decide
    confusable = [Document(id=f"n{i}", abstract=" ".join(rng.choice(words, 12)) + ".",
                           tags=()) for i in range(60)]
    gold = gold_documents(150) + confusable
    none = sum(not d.tags for d in gold)
    plain, _ = train_tagger(gold, taxonomy, folds=0, seed=0)
    shifted, facts = train_tagger(gold, taxonomy, folds=0, seed=0, no_theme_share=0.8)
    factor = facts["training"]["no_theme_tuning"]["factor"]
    assert abs(factor * none / (factor * none + len(gold) - none) - 0.8) < 1e-3
    np.testing.assert_allclose(shifted.estimator.classifier_.coef_,
                               plain.estimator.classifier_.coef_, rtol=1e-5, atol=1e-6)
    tuned = plain.estimator.thresholds_ != 0.5  # the themes with enough positives to tune
    assert (shifted.estimator.thresholds_[tuned] >= plain.estimator.thresholds_[tuned]).all()
    assert (shifted.estimator.thresholds_[tuned] > plain.estimator.thresholds_[tuned]).any()
    Y = np.array([[1, 0], [0, 0], [0, 1], [0, 0]])
    assert no_theme_factor(Y, np.ones(4), 0.5) == 1.0
    assert no_theme_factor(Y, np.ones(4), 0.75) == 3.0


def test_train_cli_no_theme_share(tmp_path, labelled_corpus):
    out = tmp_path / "model"
    done = run_tagger("train", "--data", str(labelled_corpus), "--no-theme-share", "0.5",
                      "--cv", "0", "--out", str(out))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training"]["no_theme_tuning"]["share"] == 0.5
    assert "papers without a theme weighted" in (out / "MODEL_CARD.md").read_text()
    assert tagger_main(["train", "--data", str(labelled_corpus), "--no-theme-share", "1",
                        "--out", str(tmp_path / "m2")]) == 2
