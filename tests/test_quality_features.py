"""Quality work on the model: the fast TF-IDF path equals scikit-learn's, the title and
character blocks, sample weights, threshold options, the learning curve and determinism."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tagger.corpus import Document
from tagger.features import ThemeFeatures, WordCharGrams, split_title
from tagger.model import build_model, explain
from tagger.phrases import PhraseIndex
from tagger.taxonomy import load_taxonomy
from tagger.text import lemmas
from tagger.training.fit import train_tagger
from tagger.training.model_card import render_model_card
from tagger.training.thresholds import best_threshold
from tagger.training.weak_labels import PhraseRules
from tests.conftest import make_labelled_corpus


@pytest.fixture(scope="module")
def corpus() -> list[Document]:
    return [Document(id=r["id"], title=r["title"], abstract=r["abstract"], tags=tuple(r["tags"]))
            for r in make_labelled_corpus(n=120, seed=3)]


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


def test_fast_tfidf_equals_scikit_learn(corpus):
    texts = [d.text for d in corpus]
    features = ThemeFeatures(char_mode="words").fit(texts[:80])
    unseen = [lemmas(t) for t in texts[80:]] + [[], lemmas("zzz qqq")]
    ours = features._word_block(unseen).toarray()
    reference = features.word_vectorizer_.transform(unseen).toarray()
    np.testing.assert_allclose(ours, reference, atol=1e-6)
    assert np.abs(ours).sum() > 0
    chars = features._char_block([], unseen).toarray()
    np.testing.assert_allclose(chars, features.char_vectorizer_.transform(unseen).toarray(),
                               atol=1e-6)


def test_transform_equals_the_blocks_side_by_side(corpus, taxonomy):
    texts = [d.text for d in corpus]
    phrases = tuple(t.phrases for t in taxonomy.themes)
    features = ThemeFeatures(phrases, title_weight=0.5, title_phrases=True, char_mode="words",
                             lsa_components=20, lsa_min_df=1).fit(texts[:80])
    unseen = texts[80:] + ["", "Title only.\n", "Kalman filter.\nA kalman filter state."]
    bodies = [lemmas(t) for t in unseen]
    titles = [lemmas(split_title(t)) for t in unseen]
    reference = sp.hstack([
        features._word_block(bodies) + features._word_block(titles) * np.float32(0.5),
        sp.csr_matrix(features._phrase_block(bodies)),
        sp.csr_matrix(features._phrase_block(titles)),
        features._char_block(unseen, bodies),
        sp.csr_matrix(features._lsa_block(bodies)),
    ]).toarray()
    ours = features.transform(unseen)
    assert ours.has_sorted_indices
    np.testing.assert_allclose(ours.toarray(), reference, atol=1e-6)
    np.testing.assert_allclose(features.transform(unseen[-1:]).toarray(), reference[-1:],
                               atol=1e-6)


def test_word_char_grams_are_per_distinct_word():
    grams = WordCharGrams((3, 3))
    assert grams.grams("mamba") == [" ma", "mam", "amb", "mba", "ba "]
    assert grams(["mamba", "mamba"]) == grams(["mamba"])


def test_title_is_the_first_line_only():
    assert split_title("A title.\nThe abstract.\nMore.") == "A title."
    assert split_title("No title line here.") == ""
    assert split_title("x" * 400 + "\nabstract") == ""


def test_title_weight_and_title_phrases_add_title_signal(corpus, taxonomy):
    texts = [d.text for d in corpus]
    phrases = tuple(t.phrases for t in taxonomy.themes)
    plain = ThemeFeatures(phrases, lsa_components=0).fit(texts)
    titled = ThemeFeatures(phrases, title_weight=0.5, title_phrases=True,
                           lsa_components=0).fit(texts)
    text = "Kalman filter tricks.\nWe study a kalman filter."
    a, b = plain.transform([text]), titled.transform([text])
    assert b.shape[1] == a.shape[1] + len(taxonomy)
    column = plain.word_vectorizer_.vocabulary_["kalman"]
    assert b[0, column] > a[0, column]
    ssm = taxonomy.index("state-space-models")
    assert b[0, titled.n_word_features_ + len(taxonomy) + ssm] > 0  # title phrase count
    names = titled.feature_names()
    assert len(names) == b.shape[1] and names[-1].startswith("title-phrase:")


def test_explain_still_returns_offsets_with_title_phrases(corpus, taxonomy):
    model = build_model(taxonomy, features__title_phrases=True, features__title_weight=0.5)
    Y = np.array([[int(t in d.tags) for t in taxonomy.ids] for d in corpus])
    model.fit([d.text for d in corpus], Y)
    text = "Kalman filter for state space model.\nA state space model with a kalman filter."
    evidence = explain(model, text, taxonomy.index("state-space-models"), top=5)
    assert evidence
    for item in evidence:
        for start, end in item.spans:
            assert text[start:end].lower() == item.text.lower()


def test_beta_and_floor_shape_the_threshold():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    p = np.array([0.3, 0.8, 0.85, 0.9, 0.32, 0.1, 0.05, 0.02])
    # Cut in (0.1, 0.3]: 4 hits, 1 false positive (F1 .889, F0.5 .833); cut in (0.32, 0.8]:
    # 3 hits, none false (F1 .857, F0.5 .938). F1 takes the first, F0.5 the second.
    assert 0.1 < best_threshold(y, p) <= 0.3
    assert 0.32 < best_threshold(y, p, beta=0.5) <= 0.8
    assert best_threshold(y, p, floor=0.5) >= 0.5


def test_learning_curve_lands_in_the_manifest_and_card(corpus, taxonomy):
    tagger, facts = train_tagger(corpus, taxonomy, folds=3, learning_curve_sizes=[30, 60, 500],
                                 n_jobs=1)
    curve = facts["learning_curve"]
    assert [p["n_train"] for p in curve] == [30, 60, 80]  # 500 > fold size: skipped
    assert curve[-1]["micro_f1"] == facts["cv_metrics"]["micro_f1"]
    assert all(0 <= p["micro_f1"] <= 1 and 0 <= p["macro_f1"] <= 1 for p in curve)
    manifest = {"name": "t", "model_version": "1", "created": "now", "library_versions": {},
                "taxonomy": {"name": "x", "version": "1", "themes": []},
                "thresholds": dict(zip(taxonomy.ids, tagger.thresholds, strict=True)), **facts}
    card = render_model_card(manifest)
    assert "## Learning curve" in card and "| 30 |" in card


def test_training_is_deterministic(corpus, taxonomy):
    probe = [d.text for d in corpus[:20]]
    first, _ = train_tagger(corpus, taxonomy, folds=3, seed=1, n_jobs=2)
    second, _ = train_tagger(corpus, taxonomy, folds=3, seed=1, n_jobs=1)
    np.testing.assert_array_equal(first.score(probe), second.score(probe))
    np.testing.assert_array_equal(first.thresholds, second.thresholds)


def test_phrase_rules_agree_with_the_model_phrase_index(taxonomy):
    """The silver labeller and the model's phrase features see the same lemma normal form."""
    index = PhraseIndex([t.phrases for t in taxonomy.themes])
    text = "Neural Architecture Search and hyper-parameter optimization of a Kalman Filter"
    counts = index.counts(lemmas(text))
    matched = {m.theme for m in PhraseRules(taxonomy).matches(text)}
    assert {taxonomy.ids[k] for k, c in enumerate(counts) if c} == matched
