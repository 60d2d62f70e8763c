"""Quality work on the model: title signal from the title field, sample weights reaching the
classifier, the learning curve in the manifest and card, determinism, and one phrase matcher
shared by the features and the weak labeller."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.corpus import Document
from tagger.features import ThemeFeatures
from tagger.model_card import render_model_card
from tagger.phrases import PhraseIndex
from tagger.taxonomy import load_taxonomy
from tagger.text import lemmas
from tagger.training.fit import train_tagger
from tagger.training.weak_labels import PhraseRules
from tests.conftest import make_labelled_corpus


@pytest.fixture(scope="module")
def corpus() -> list[Document]:
    return [Document(id=r["id"], title=r["title"], abstract=r["abstract"], tags=tuple(r["tags"]))
            for r in make_labelled_corpus(n=120, seed=3)]


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


def records(docs):
    return [{"title": d.title, "abstract": d.abstract} for d in docs]


def test_title_weight_and_title_phrases_add_title_signal(corpus, taxonomy):
    phrases = tuple(t.phrases for t in taxonomy.themes)
    plain = ThemeFeatures(phrases, lsa_components=0).fit(records(corpus))
    titled = ThemeFeatures(phrases, title_weight=0.5, title_phrases=True,
                           lsa_components=0).fit(records(corpus))
    paper = [{"title": "Kalman filter tricks", "abstract": "We study a kalman filter."}]
    a, b = plain.transform(paper), titled.transform(paper)
    assert b.shape[1] == a.shape[1] + len(taxonomy)
    column = plain.word_vectorizer_.vocabulary_["kalman"]
    assert b[0, column] > a[0, column]
    ssm = taxonomy.index("state-space-models")
    assert b[0, titled.n_word_features_ + len(taxonomy) + ssm] > 0  # title phrase count
    names = titled.get_feature_names_out()
    assert len(names) == b.shape[1] and names[-1].startswith("title-phrase:")
    # The same words as abstract only: no title signal at all.
    untitled = titled.transform([{"title": "", "abstract": "Kalman filter tricks. We study a "
                                  "kalman filter."}])
    assert untitled[0, titled.n_word_features_ + len(taxonomy) + ssm] == 0


def test_sample_weights_reach_the_classifier(corpus, taxonomy):
    heavy = np.ones(len(corpus))
    heavy[:30] = 5.0
    plain, _ = train_tagger(corpus, taxonomy, folds=0, n_jobs=1)
    from tagger.estimator import build_model
    from tagger.training.fit import fields_of
    from tagger.training.metrics import label_matrix

    weighted = build_model(taxonomy).fit(fields_of(corpus),
                                         label_matrix([d.tags for d in corpus], taxonomy.ids),
                                         sample_weight=heavy)
    assert not np.allclose(plain.estimator.classifier_.coef_, weighted.classifier_.coef_)


def test_learning_curve_lands_in_the_manifest_and_card(corpus, taxonomy):
    tagger, facts = train_tagger(corpus, taxonomy, folds=3, learning_curve_sizes=[30, 60, 500],
                                 n_jobs=1)
    curve = facts["learning_curve"]
    assert [p["n_train"] for p in curve] == [30, 60, 80]  # 500 > fold size: skipped
    assert curve[-1]["micro_f1"] == facts["cv_metrics"]["micro_f1"]
    assert all(0 <= p["micro_f1"] <= 1 for p in curve)
    manifest = {"name": "t", "model_version": "1", "created": "now", "library_versions": {},
                "taxonomy": {"name": "x", "version": "1", "themes": []},
                "thresholds": dict(zip(taxonomy.ids, tagger.estimator.thresholds_,
                                       strict=True)), **facts}
    card = render_model_card(manifest)
    assert "## Learning curve" in card and "| 30 |" in card
    assert "Expected calibration error" in card


def test_training_is_deterministic(corpus, taxonomy):
    probe = corpus[:20]
    first, _ = train_tagger(corpus, taxonomy, folds=3, seed=1, n_jobs=2)
    second, _ = train_tagger(corpus, taxonomy, folds=3, seed=1, n_jobs=1)
    np.testing.assert_array_equal(first.score(probe), second.score(probe))
    np.testing.assert_array_equal(first.estimator.thresholds_, second.estimator.thresholds_)


def test_phrase_rules_agree_with_the_model_phrase_index(taxonomy):
    """The silver labeller and the model's phrase features use one matcher."""
    index = PhraseIndex([t.phrases for t in taxonomy.themes])
    for text in ["Neural Architecture Search and hyper-parameter optimization of a Kalman "
                 "Filter", "Non-autoregressive translation with parallel decoding"]:
        counts = index.counts(lemmas(text))
        matched = {m.theme for m in PhraseRules(taxonomy).matches(text)}
        assert {taxonomy.ids[k] for k, c in enumerate(counts) if c} == matched
    nat = {m.theme for m in PhraseRules(taxonomy).matches("non-autoregressive translation")}
    assert "autoregressive-models" not in nat
