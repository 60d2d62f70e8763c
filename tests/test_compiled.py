"""The compiled one-paper scoring path (tagger.compiled, tagger.lemma_codes): same scores as
the batch path on the cases where the integer form could go wrong, and the life cycle of the
compiled scorer on a model (used for one paper, never pickled, dropped by a refit)."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest

from tagger.compiled import CompiledScorer
from tagger.estimator import build_model
from tagger.lemma_codes import LemmaCodes, _SurfaceCodes
from tagger.phrases import PhraseIndex
from tagger.representations import fit_feed_representation
from tagger.taxonomy import load_taxonomy
from tagger.text import lemmas
from tests.conftest import SHIPPED_MODEL, make_labelled_corpus
from tests.test_representations import generated_corpus, labelled_papers

from .test_estimator import as_xy


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


@pytest.fixture(scope="module")
def model(taxonomy):
    """The shipped design (phrases, title phrases, title row, LSA) on generated papers."""
    return build_model(taxonomy).fit(*as_xy(make_labelled_corpus(), taxonomy.ids))


def assert_compiled_equals_batch(model, records: list[dict]) -> None:
    """Logits (more sensitive than scores) and scores of each record, against the batch
    path (two records or more never take a one-paper path)."""
    scorer = CompiledScorer.compile(model.features_, model.classifier_)
    batch = records + records[:1]
    logits = model.classifier_.raw_logits(model.features_.transform(batch))
    scores = model.predict_proba(batch)
    for i, record in enumerate(records):
        np.testing.assert_allclose(scorer.logits(record["title"], record["abstract"]),
                                   logits[i], atol=1e-5, err_msg=repr(record))
        np.testing.assert_allclose(scorer.scores(record["title"], record["abstract"])[0],
                                   scores[i], atol=1e-6, err_msg=repr(record))


def test_tricky_text_scores_as_on_the_batch_path(model):
    """Phrases across a hyphen or a stop word, overlapping phrases (the longest first wins),
    a phrase cut by the title/abstract boundary (never one match), unknown words between
    known ones (they still separate word pairs), numbers and single letters (dropped),
    unicode and empty fields."""
    assert_compiled_equals_batch(model, [
        {"title": "State-space models", "abstract": "A state space model, a Kalman filter."},
        {"title": "Neural architecture", "abstract": "search for time series forecasting"},
        {"title": "", "abstract": "time qwertyzx series 2024 x forecasting of the horizon"},
        {"title": "Mamba", "abstract": ""},
        # overlapping phrases: "autoregressive model" hides "model selection"
        {"title": "An autoregressive model selection", "abstract": "molecular graph attention"},
        {"title": "", "abstract": ""},
        {"title": "Causal discovery — DAG", "abstract": "Découverte causale: notears, DAG."},
        {"title": "time series " * 5, "abstract": "forecasting " * 50 + "mamba " * 3},
    ])


def test_a_collocation_across_the_title_and_abstract_is_read_like_the_batch_path(taxonomy):
    """The feed representation reads title and abstract as one word list (unlike the word
    block), so a collocation split by the boundary counts there and only there."""
    rep = fit_feed_representation([lemmas(t) for t in generated_corpus()], dim=8, min_df=3,
                                  method="ppmi", phrases=50)
    assert "state space" in rep.vocabulary
    X, Y, _ids = labelled_papers()
    fitted = build_model(taxonomy, features__representation=rep,
                         features__lsa_components=0).fit(X, Y)
    scorer = CompiledScorer.compile(fitted.features_, fitted.classifier_)
    for title, abstract in [("Kalman filter state", "space model of latent dynamics"),
                            ("Kalman filter", "state space model of latent dynamics")]:
        record = {"title": title, "abstract": abstract}
        batch = fitted.classifier_.raw_logits(fitted.features_.transform([record, record]))
        np.testing.assert_allclose(scorer.logits(title, abstract), batch[0], atol=1e-5)
    # the case is real: the boundary pair moves the representation
    split = rep.transform([lemmas("Kalman filter state") + lemmas("space model")])
    apart = rep.transform([lemmas("Kalman filter state") + ["xyz"] + lemmas("space model")])
    assert np.abs(split - apart).max() > 0.01


def test_the_model_scores_every_paper_through_the_scorer_once_compiled(model):
    fitted = pickle.loads(pickle.dumps(model))
    record = {"title": "Mamba", "abstract": "A selective scan state space model."}
    batch = [record, {"title": "", "abstract": "Forecasting seasonal sensor series."},
             {"title": "Neural architecture search", "abstract": ""}]
    before_one, before_batch = fitted.predict_proba([record]), fitted.predict_proba(batch)
    assert fitted.compile_scoring() is None
    scorer = fitted.__dict__["compiled_scorer_"]
    assert fitted.compile_scoring() is None and fitted.__dict__["compiled_scorer_"] is scorer
    calls = []
    original = scorer._run
    scorer._run = lambda *args: calls.append(args[:2]) or original(*args)
    np.testing.assert_allclose(fitted.predict_proba([record]), before_one, atol=1e-5)
    assert calls == [("Mamba", "A selective scan state space model.")]
    # a batch too: one compiled call per paper, the batch path's scores and tags
    after_batch = fitted.predict_proba(batch)
    assert calls[1:] == [(r["title"], r["abstract"]) for r in batch]
    np.testing.assert_allclose(after_batch, before_batch, atol=1e-5)
    assert ((after_batch >= 0.5) == (before_batch >= 0.5)).all()
    # never pickled (derived from the fitted arrays), and a refit drops it
    assert "compiled_scorer_" not in pickle.loads(pickle.dumps(fitted)).__dict__
    fitted.fit(*as_xy(make_labelled_corpus(60, seed=3), load_taxonomy().ids))
    assert "compiled_scorer_" not in fitted.__dict__


def test_without_numba_the_model_says_why_and_keeps_the_string_path(model, monkeypatch):
    fitted = pickle.loads(pickle.dumps(model))
    monkeypatch.setitem(sys.modules, "tagger._paper_kernel", None)  # import fails
    reason = fitted.compile_scoring()
    assert reason is not None and "numba" in reason
    assert "compiled_scorer_" not in fitted.__dict__
    assert fitted.predict_proba([{"title": "", "abstract": "time series"}]).shape == (1, 19)


def test_a_failing_compiler_is_a_reason_not_an_error(model, monkeypatch):
    """numba raises at compile time on a platform it cannot serve (or with no writable
    cache): the caller (API, bulk run) gets why, and the model keeps scoring."""
    fitted = pickle.loads(pickle.dumps(model))

    def broken(self):
        raise RuntimeError("cannot cache function")

    monkeypatch.setattr(CompiledScorer, "warm_up", broken)
    assert fitted.compile_scoring() == ("the compiler failed (RuntimeError: cannot cache "
                                        "function)")
    assert "compiled_scorer_" not in fitted.__dict__
    assert fitted.predict_proba([{"title": "", "abstract": "time series"}]).shape == (1, 19)


def test_a_representation_without_integer_form_is_not_compiled(taxonomy):
    class Custom:  # any object with transform(lemma_lists) -> array works in the estimator
        dim = 2

        def transform(self, lemma_lists):
            return np.array([[len(x), 1.0] for x in lemma_lists], dtype=np.float32)

    X, Y, _ids = labelled_papers(60)
    fitted = build_model(taxonomy, features__representation=Custom(),
                         features__lsa_components=0).fit(X, Y)
    assert CompiledScorer.compile(fitted.features_, fitted.classifier_) is None
    assert "representation" in fitted.compile_scoring()


def test_surface_codes_are_bounded(model, monkeypatch):
    """A client sending random words cannot grow the word -> code memo without limit."""
    codes = LemmaCodes(model.features_)
    monkeypatch.setattr(_SurfaceCodes, "LIMIT", 10)
    text = " ".join(f"word{i}x" for i in range(50)) + " forecasting"
    encoded = codes.encode(text)
    assert len(codes.surface) == 10
    assert list(encoded[:50]) == [codes.unknown_content] * 50
    assert encoded[50] == codes.codes[lemmas("forecasting")[0]]
    assert list(codes.encode("of 42 x")) == [codes.codes.get("of", codes.unknown_other),
                                           codes.unknown_other, codes.unknown_other]


def test_the_phrase_rule_the_kernel_follows_longest_first_without_overlaps():
    """The kernel's phrase matching is checked against this rule through the batch path
    (overlapping taxonomy phrases above); here the rule itself on a small index."""
    index = PhraseIndex([["state space model", "state space"], ["time series"],
                         ["space model"]])
    words = lemmas("a state space model of time series and state space and space model")
    assert index.counts(words) == [2, 1, 1]


def test_text_is_coded_in_compiled_code_exactly_as_in_python(model):
    """The compiled word reader (UTF-8, per-character lowercase and kind tables, a hash table
    of the words whose code is not the default) gives the Python reader's codes: case,
    inflections mapped by the lemma table, stop words, digits, single letters, unknown words,
    separators (``_`` and ``-`` included), accents, Greek, ligatures, fullwidth letters."""
    scorer = CompiledScorer.compile(model.features_, model.classifier_)
    vocabulary = scorer.codes.lemmas[:300]
    texts = [" ".join(vocabulary) + (
        " Models WERE was are forecasting FORECASTED time-series time_series 2024 x a I"
        " of the qwertyzx Kalman's, (state) space; 3D 10x b2 ABC.def\ttab\nnewline"),
        "Modèles d'état — Kalman filter, Straße, αβ-divergence, x² Ⅻ ｆｕｌｌ ﬁnite ǅ é"]
    for text in texts:
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        codes, read = scorer._text_codes(data, scorer.reader)
        assert read, text
        np.testing.assert_array_equal(codes, scorer.codes.encode(text))
        assert scorer.codes.unknown_content in codes and scorer.codes.unknown_other in codes
    assert len(set(scorer.encode(texts[0]).tolist())) > 250


@pytest.mark.parametrize("text", ["ΟΔΟΣ ΣΟΦΙΑΣ", "İstanbul", "emoji 😀 model",
                                  "lone \ud800 surrogate"])
def test_text_the_compiled_reader_cannot_take_is_read_in_python(model, text):
    """Lowercasing that needs context (a final capital sigma) or gives two characters, and
    characters beyond the Basic Multilingual Plane or lone surrogates, go to the Python
    reader: same codes, same scores."""
    scorer = CompiledScorer.compile(model.features_, model.classifier_)
    np.testing.assert_array_equal(scorer.encode(text), scorer.codes.encode(text))
    if "\ud800" not in text:
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        assert not scorer._text_codes(data, scorer.reader)[1]
    assert_compiled_equals_batch(model, [{"title": text, "abstract": "State space model."},
                                         {"title": "", "abstract": text}])


def test_real_abstracts_are_coded_as_in_python(shared_dir):
    """Every title and abstract of the unlabelled corpus (a fifth of them not ASCII)."""
    import json

    from tagger.artifact import load_model

    model = load_model(SHIPPED_MODEL).estimator
    scorer = CompiledScorer.compile(model.features_, model.classifier_)
    lines = (shared_dir / "corpus" / "unlabelled.jsonl").read_text(encoding="utf-8")
    texts = [text for line in lines.splitlines()
             for text in (json.loads(line).get("title") or "", json.loads(line)["abstract"])]
    assert sum(not text.isascii() for text in texts) > 500
    for text in texts:
        np.testing.assert_array_equal(scorer.encode(text), scorer.codes.encode(text), text)


def test_the_kernel_reads_the_info_columns_the_tables_write():
    """numba needs the column numbers as module constants: the kernel's copy must match."""
    from tagger import _paper_kernel, lemma_codes

    for name in ("CONTENT", "WORD", "LSA", "TERM", "WORD_PAIRS", "TERM_PAIRS", "PHRASES"):
        assert getattr(_paper_kernel, name) == getattr(lemma_codes, name), name
