"""ThemeClassifier as a scikit-learn user meets it, on small generated data: model selection
tools, clone/pickle, feature names, predict == the CLI's tags, field handling (line breaks,
missing and long titles), calibration against the tuned thresholds, explanations, the fast
TF-IDF path, and the docs/python.md example (docs/estimator_example.py, run as is)."""

from __future__ import annotations

import json
import pickle
import runpy
import subprocess

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from tagger.artifact import save_model
from tagger.calibration import sigmoid
from tagger.compiled import CompiledScorer
from tagger.corpus import CorpusError, read_labelled
from tagger.estimator import (
    EVIDENCE_FLOOR,
    EVIDENCE_STOPLIST,
    ThemeClassifier,
    build_model,
)
from tagger.features import Lemmatised, ThemeFeatures
from tagger.fields import UnlabelledPapers, as_fields
from tagger.tagging import Tagger
from tagger.taxonomy import load_taxonomy
from tagger.text import STOPWORDS, lemmas
from tests.conftest import REPO, make_labelled_corpus, write_jsonl

EXAMPLE = REPO / "docs" / "estimator_example.py"
TAGGER_BIN = REPO / ".venv" / "bin" / "tagger"


def as_xy(records: list[dict], themes: list[str]) -> tuple[list[dict], np.ndarray]:
    X = [{"title": r["title"], "abstract": r["abstract"]} for r in records]
    Y = np.array([[int(t in r["tags"]) for t in themes] for r in records])
    return X, Y


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


@pytest.fixture(scope="module")
def data(taxonomy) -> tuple[list[dict], np.ndarray]:
    return as_xy(make_labelled_corpus(), taxonomy.ids)


@pytest.fixture(scope="module")
def model(taxonomy, data) -> ThemeClassifier:
    """The shipped design (taxonomy phrases, title block, LSA) trained on generated papers."""
    return build_model(taxonomy).fit(*data)


def quick(taxonomy) -> ThemeClassifier:
    """The shipped design, lighter: for tools that fit many times."""
    return build_model(taxonomy, features__lsa_components=10, classifier__cv=3)


# --- scikit-learn's model selection tools ---------------------------------------------------

def test_cross_val_score_f1_micro(taxonomy, data):
    X, Y = data
    scores = cross_val_score(quick(taxonomy), X, Y, scoring="f1_micro", cv=3)
    assert scores.shape == (3,)
    assert np.all((scores > 0.5) & (scores <= 1.0)), scores


def test_cross_val_score_passes_unlabelled_papers_whole(taxonomy, data):
    """``unlabelled`` reaches every fold's fit unsplit (and changes the LSA block)."""
    X, Y = data
    extra = UnlabelledPapers([{"title": "", "abstract": r["abstract"] + " wavelet spectrogram"}
                              for r in make_labelled_corpus(n=40, seed=99)])
    scores = cross_val_score(quick(taxonomy), X, Y, scoring="f1_micro", cv=3,
                             params={"unlabelled": extra})
    assert np.all(scores > 0.5), scores
    with_extra = ThemeFeatures(lsa_components=10).fit(X, unlabelled=extra)
    without = ThemeFeatures(lsa_components=10).fit(X)
    assert "wavelet" in with_extra.lsa_vectorizer_.vocabulary_
    assert "wavelet" not in without.lsa_vectorizer_.vocabulary_


def test_grid_search_over_one_hyper_parameter(taxonomy, data):
    X, Y = data
    search = GridSearchCV(quick(taxonomy), {"classifier__C": [0.05, 8.0]}, scoring="f1_micro",
                          cv=2).fit(X, Y)
    assert search.best_params_["classifier__C"] in (0.05, 8.0)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.best_estimator_.classifier_.C == search.best_params_["classifier__C"]
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))


def test_clone_and_fit_gives_identical_scores(taxonomy, data, model):
    X, Y = data
    again = clone(model)
    assert not hasattr(again, "classifier_")
    again.fit(X, Y)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(again.thresholds_, model.thresholds_)


def test_predict_before_fit_raises_not_fitted(taxonomy, data):
    for method in ("predict", "predict_proba", "decision_function", "get_feature_names_out"):
        with pytest.raises(NotFittedError):
            getattr(build_model(taxonomy), method)(data[0][:2])


def test_pickle_round_trip(model, data):
    X = data[0][:40]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert list(restored.classes_) == list(model.classes_)
    assert restored.explain(X[:5]) == model.explain(X[:5])


@pytest.mark.parametrize("part, parameter", [("features_", "idf_reference"),
                                             ("classifier_", "cv_repeats")])
def test_a_model_pickled_before_a_parameter_existed_reads_its_default(model, data, part,
                                                                      parameter):
    """Unpickling fills an ``__init__`` parameter missing from an older pickle with its
    default, so ``get_params``, ``repr`` and ``clone`` work and the scores are unchanged."""
    old = pickle.loads(pickle.dumps(model))
    fitted = getattr(old, part)
    default = fitted.get_params()[parameter]
    del fitted.__dict__[parameter]  # as an earlier version would have pickled it
    with pytest.raises(AttributeError):
        fitted.get_params()
    restored = getattr(pickle.loads(pickle.dumps(old)), part)
    assert restored.get_params()[parameter] == default
    assert type(restored).__name__ in repr(restored)
    clone(restored)
    X = data[0][:10]
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(old)).predict_proba(X),
                                  model.predict_proba(X))


# --- feature names ----------------------------------------------------------------------------

def test_feature_names_match_the_transform(model, taxonomy, data):
    names = model.get_feature_names_out()
    F = model.features_.transform(data[0][:5])
    assert len(names) == F.shape[1]
    assert len(set(names)) == len(names)
    for theme in taxonomy.ids:
        assert f"phrase:{theme}" in names and f"title-phrase:{theme}" in names
    assert not [n for n in names if n.partition(":")[0].endswith("phrase")
                and n.partition(":")[2].isdigit()]
    # the columns named for a theme are the ones its phrases fill
    record = {"title": "Kalman filter tricks", "abstract": "We extend the kalman filter."}
    row = model.features_.transform([record]).toarray()[0]
    column = {name: k for k, name in enumerate(names)}
    assert row[column["phrase:state-space-models"]] > 0
    assert row[column["title-phrase:state-space-models"]] > 0
    assert row[column["phrase:automl"]] == 0
    assert row[column["word:kalman filter"]] > 0


# --- predict == the product's tags ------------------------------------------------------------

def test_predict_equals_the_cli_tags(model, taxonomy, tmp_path):
    if not TAGGER_BIN.is_file():
        pytest.skip(f"{TAGGER_BIN} not installed")
    out = save_model(Tagger(taxonomy, model), tmp_path / "model",
                     {"name": "estimator-test", "training_data": []})
    unseen = make_labelled_corpus(n=60, seed=123)
    papers = [{"id": r["id"], "title": r["title"], "abstract": r["abstract"]} for r in unseen]
    papers += [{"id": "no-title", "abstract": unseen[1]["abstract"]},
               {"id": "breaks", "title": "", "abstract": "A state space\nmodel with a\nkalman "
                "filter for forecasting."}]
    path = write_jsonl(tmp_path / "papers.jsonl", papers)
    result = subprocess.run([str(TAGGER_BIN), "tag", str(path), "--model", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    cli = {r["id"]: {t["theme"] for t in r["tags"]}
           for r in map(json.loads, result.stdout.splitlines())}
    predicted = model.predict([{"title": p.get("title", ""), "abstract": p["abstract"]}
                               for p in papers])
    ours = {p["id"]: {taxonomy.ids[k] for k in np.flatnonzero(row)}
            for p, row in zip(papers, predicted, strict=True)}
    assert cli == ours
    assert sum(map(len, ours.values())) > 30  # most generated papers carry a theme


# --- fields: line breaks, missing and long titles ------------------------------------------

ABSTRACT = ("We adapt a selective state space model to time series forecasting. The latent "
            "state follows a kalman filter, and experiments on sensor data show long-horizon "
            "gains over neural architecture search baselines.")


def test_line_breaks_in_an_untitled_abstract_change_nothing(model):
    broken = ABSTRACT.replace(". ", ".\n").replace(" to ", "\nto ").replace(", ", ",\r\n")
    assert broken.count("\n") >= 3
    variants = [{"title": "", "abstract": ABSTRACT}, {"title": "", "abstract": broken},
                {"abstract": broken}, {"title": None, "abstract": broken}]
    one_by_one = np.vstack([model.predict_proba([v]) for v in variants])
    batch = model.predict_proba(variants)
    for scores in (one_by_one, batch):
        for row in scores[1:]:
            np.testing.assert_array_equal(row, scores[0])
    np.testing.assert_allclose(one_by_one, batch, atol=1e-6)  # float32 sums
    # ... while the same words given as a title do count differently (the title has weight)
    first, rest = ABSTRACT.split(". ", 1)
    titled = model.predict_proba([{"title": first, "abstract": rest}])
    assert not np.allclose(titled, one_by_one[0])


def test_a_400_character_title_keeps_its_title_features(model):
    filler = "A long and careful comparison of many methods for regression on tabular data, " * 5
    title = (filler[:360] + " with a kalman filter").strip()
    assert len(title) >= 380 and title.index("kalman") > 300
    abstract = "We study regression on tabular data with many methods."
    names = list(model.get_feature_names_out())
    titled = model.features_.transform([{"title": title, "abstract": abstract}]).toarray()[0]
    untitled = model.features_.transform(
        [{"title": "", "abstract": abstract + " " + title}]).toarray()[0]
    ssm_title_phrase = names.index("title-phrase:state-space-models")
    kalman = names.index("word:kalman")
    assert titled[ssm_title_phrase] > 0
    assert untitled[ssm_title_phrase] == 0
    # the title's own TF-IDF row is added (title_weight 0.5): the word weighs more as title
    assert titled[kalman] > untitled[kalman] + 0.05


# --- calibration ----------------------------------------------------------------------------

def test_calibrated_tags_equal_the_tuned_threshold_decisions_on_held_out_folds(taxonomy):
    X, Y = as_xy(make_labelled_corpus(n=200, seed=21), taxonomy.ids)
    X = np.array([[x["title"], x["abstract"]] for x in X], dtype=object)
    # 12% label noise: on clean generated data every raw probability is near 0 or 1 and any
    # cut-off gives the same tags, which would prove nothing
    used = np.flatnonzero(Y.sum(axis=0))
    Y[:, used] ^= (np.random.RandomState(0).rand(len(Y), len(used)) < 0.12).astype(Y.dtype)
    decisions = 0
    moved = 0
    for train, test in KFold(3, shuffle=True, random_state=0).split(X):
        fitted = quick(taxonomy).fit(X[train], Y[train])
        thresholds = fitted.thresholds_
        scores = fitted.predict_proba(X[test])
        raw = sigmoid(fitted.classifier_.raw_logits(fitted.features_.transform(X[test])))
        assert np.all((scores >= 0) & (scores <= 1))
        np.testing.assert_array_equal(scores >= 0.5, raw >= thresholds)
        np.testing.assert_array_equal(fitted.predict(X[test]), (raw >= thresholds).astype(int))
        decisions += int((raw >= thresholds).sum())
        moved += int(((raw >= 0.5) != (raw >= thresholds)).sum())
        assert np.any(thresholds != 0.5)  # thresholds were tuned, not left at the default
    assert decisions > 50
    assert moved > 0, "on this data a cut at 0.5 gives the same tags: the test proves nothing"


def test_scores_are_probabilities_for_odd_input(model):
    odd = [{"title": "", "abstract": ""}, {"title": "x" * 500, "abstract": "?!"},
           {"title": "Ünïcödé ∑", "abstract": "数据 " * 50}, {"abstract": "kalman " * 400}]
    scores = model.predict_proba(odd)
    assert scores.shape == (len(odd), len(model.classes_))
    assert np.all(np.isfinite(scores) & (scores >= 0) & (scores <= 1))


# --- explanations -----------------------------------------------------------------------------

EXPLAINED = {
    "title": "Kalman filter forecasting with a state space model",
    "abstract": ("We propose a novel state space model for temporal data. The model achieves "
                 "strong results: a Kalman filter tracks the latent state, and our State-Space "
                 "Models outperform the benchmark. Experiments need a large dataset."),
}


@pytest.fixture(scope="module")
def evidence(model, taxonomy) -> list:
    ssm = taxonomy.index("state-space-models")
    explained = model.explain([EXPLAINED], themes=[[ssm]])
    assert set(explained[0]) == {ssm}
    return explained[0][ssm]


def test_evidence_spans_point_at_the_text_in_their_field(evidence):
    assert evidence
    for item in evidence:
        assert item.spans
        for field, start, end in item.spans:
            assert field in ("title", "abstract")
            assert 0 <= start < end <= len(EXPLAINED[field])
            assert lemmas(EXPLAINED[field][start:end]) == lemmas(item.text), (item, field)
        field, start, end = item.spans[0]
        assert EXPLAINED[field][start:end] == item.text
    assert {f for item in evidence for f, _s, _e in item.spans} == {"title", "abstract"}


def test_evidence_has_no_filler_and_nothing_below_the_floor(evidence):
    for item in evidence:
        words = lemmas(item.text)
        assert not all(w in EVIDENCE_STOPLIST or w in STOPWORDS for w in words), item
        assert item.weight >= EVIDENCE_FLOOR, item
    shown = {item.text.lower() for item in evidence}
    assert not shown & {"model", "need", "achieves", "data", "dataset", "large", "benchmark"}


def test_a_taxonomy_phrase_is_one_item_not_fragments(evidence):
    texts = [lemmas(item.text) for item in evidence]
    assert any(t[:3] == ["state", "space", "model"] for t in texts), texts
    assert ["state", "space"] not in texts and ["space", "model"] not in texts
    assert ["space"] not in texts and ["state"] not in texts
    # no two items overlap anywhere: merged phrases, never a phrase and its pieces
    spans = sorted((f, s, e) for item in evidence for f, s, e in item.spans)
    for (f1, _s1, e1), (f2, s2, _e2) in zip(spans, spans[1:], strict=False):
        assert f1 != f2 or s2 >= e1, spans


def test_explain_defaults_to_the_predicted_themes(model):
    explained = model.explain([EXPLAINED, {"abstract": "Galaxy spectra from a telescope."}])
    predicted = model.predict([EXPLAINED, {"abstract": "Galaxy spectra from a telescope."}])
    for per_theme, row in zip(explained, predicted, strict=True):
        assert sorted(per_theme) == list(np.flatnonzero(row))


# --- the fast TF-IDF path equals scikit-learn's -----------------------------------------------

def test_fast_tfidf_equals_scikit_learn(data):
    X = data[0]
    features = ThemeFeatures(lsa_components=0).fit(X[:100])
    unseen = X[100:] + [{"title": "", "abstract": ""}, {"title": "zzz", "abstract": "qqq"},
                        {"title": "Kalman filter", "abstract": "kalman filter state space"}]
    ours = features.transform(unseen).toarray()
    segments = [(lemmas(x["title"]), lemmas(x["abstract"])) for x in unseen]
    reference = features.word_vectorizer_.transform(segments).toarray()
    np.testing.assert_allclose(ours, reference, atol=1e-6)
    assert np.abs(ours).sum() > 0


def test_title_weight_adds_the_title_row_as_scikit_learn_computes_it(data):
    X = data[0]
    features = ThemeFeatures(lsa_components=0, title_weight=0.5).fit(X[:100])
    unseen = X[100:]
    paper = features.word_vectorizer_.transform(
        [(lemmas(x["title"]), lemmas(x["abstract"])) for x in unseen])
    title = features.word_vectorizer_.transform([(lemmas(x["title"]),) for x in unseen])
    np.testing.assert_allclose(features.transform(unseen).toarray(),
                               (paper + 0.5 * title).toarray(), atol=1e-6)


def test_fast_lsa_block_equals_scikit_learn(data):
    X = data[0]
    features = ThemeFeatures(lsa_components=8, lsa_min_df=2).fit(X[:100])
    unseen = X[100:]
    tfidf = features.lsa_vectorizer_.transform(
        [(lemmas(x["title"]) + lemmas(x["abstract"]),) for x in unseen])
    dense = np.asarray(tfidf @ features.lsa_projection_)
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
    width = features.n_word_features_
    ours = features.transform(unseen).toarray()[:, width:]
    np.testing.assert_allclose(ours, dense * features.lsa_weight, atol=1e-5)
    single = features.transform(unseen[:1]).toarray()[:, width:]
    np.testing.assert_allclose(single, ours[:1], atol=1e-5)


def test_one_paper_path_equals_the_batch_path(model, data):
    """The API scores one abstract on its own path (ThemeFeatures.one_row); it must give
    the batch path's features and scores, including papers with no title, no known word,
    repeated words and unicode."""
    X = data[0][100:140] + [
        {"title": "", "abstract": data[0][0]["abstract"]},
        {"title": "Zyxwv qwert", "abstract": "Qwertyuiop asdfgh zxcvb."},
        {"title": "", "abstract": ""},
        {"title": "Time series time series", "abstract": "Time series " * 40},
        {"title": "Modèles à espace d'états", "abstract": "Réseaux récurrents — état latent."},
    ]
    features = model.features_
    batch_rows = features.transform(X).toarray()
    batch_scores = model.predict_proba(X)
    width = batch_rows.shape[1]
    for i, record in enumerate(X):
        columns, values, dense = features.one_row(
            Lemmatised(as_fields([record])))
        row = np.zeros(width)
        np.add.at(row, columns, values)
        row[width - len(dense):] += dense
        np.testing.assert_allclose(row, batch_rows[i], atol=1e-6, err_msg=f"record {i}")
        np.testing.assert_allclose(model.predict_proba([record])[0], batch_scores[i],
                                   atol=1e-5, err_msg=f"record {i}")
    # the API's compiled path (tagger.compiled) too
    compiled = CompiledScorer.compile(model.features_, model.classifier_)
    for i, record in enumerate(X):
        np.testing.assert_allclose(compiled.scores(record["title"], record["abstract"])[0],
                                   batch_scores[i], atol=1e-5, err_msg=f"record {i}")


def test_nb_scaling_folds_into_one_weight_per_feature(data):
    """nb_scaling fits on scaled features but keeps coef * scale, so scoring the raw
    features with the kept weights equals scoring the scaled features with the fitted ones;
    a word found only in one theme's papers gets a larger scale than a word found in all."""
    from sklearn.linear_model import LogisticRegression

    from tagger.classifier import CalibratedMultiLabelLogistic, nb_scales

    X, Y = data
    F = ThemeFeatures(lsa_components=8, lsa_min_df=2).fit(X).transform(X)
    column = Y[:, int(np.argmax(Y.sum(axis=0)))]
    scale = nb_scales(F, column, 1.0)
    negative = F.min(axis=0).toarray().ravel() < 0
    assert negative.any() and np.all(scale[negative] == 1.0)  # LSA columns keep scale 1
    present = (F > 0).toarray()
    only_positive = present[column == 1].any(axis=0) & ~present[column == 0].any(axis=0)
    everywhere = present.all(axis=0)
    if only_positive.any() and everywhere.any():
        assert scale[only_positive].max() > scale[everywhere].max()
    classifier = CalibratedMultiLabelLogistic(nb_scaling=1.0, cv=0).fit_indicator(
        F, column[:, None])
    reference = LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000,
                                   tol=1e-3).fit(F.multiply(scale).tocsr(), column)
    np.testing.assert_allclose(classifier.raw_logits(F)[:, 0],
                               reference.decision_function(F.multiply(scale).tocsr()),
                               rtol=1e-4, atol=1e-4)


def test_C_grid_picks_each_themes_C_from_the_grid(data):
    """With C_grid every label gets one of the grid's values (chosen on out-of-fold average
    precision), the final weights use it, and a one-value grid equals a plain fit."""
    from tagger.classifier import CalibratedMultiLabelLogistic, _best_per_label

    X, Y = data
    F = ThemeFeatures(lsa_components=8, lsa_min_df=2).fit(X).transform(X)
    Y = Y[:, Y.sum(axis=0) > 3]
    grid = (0.01, 8.0)
    model = CalibratedMultiLabelLogistic(C_grid=grid).fit_indicator(F, Y)
    assert set(model.C_per_label_) <= set(grid) and len(model.C_per_label_) == Y.shape[1]
    # The choice: per label, the out-of-fold scores that rank its positives best.
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 0]])
    good = np.array([[3.0, 0.0], [2.0, 0.0], [1.0, 3.0], [0.0, 2.0], [0.5, 0.0]])
    bad = good[::-1]
    assert list(_best_per_label(y, [bad, good], np.ones(5))) == [1, 1]
    assert list(_best_per_label(y, [good, bad], np.ones(5))) == [0, 0]
    single = CalibratedMultiLabelLogistic(C_grid=(8.0,)).fit_indicator(F, Y)
    plain = CalibratedMultiLabelLogistic(C=8.0).fit_indicator(F, Y)
    np.testing.assert_allclose(single.coef_, plain.coef_)
    np.testing.assert_allclose(single.thresholds_, plain.thresholds_)


def test_cv_repeats_average_the_out_of_fold_logits_of_several_splits(data):
    """``cv_repeats``: the thresholds are tuned on each row's out-of-fold logit averaged over
    that many fold splits (split r seeded ``random_state + r``), which is what tuning on one
    split gives when the per-split logits are averaged by hand; the final weights do not
    depend on it."""
    from sklearn.linear_model import LogisticRegression

    from tagger.calibration import tune_thresholds
    from tagger.classifier import CalibratedMultiLabelLogistic

    X, Y = data
    F = ThemeFeatures(lsa_components=8, lsa_min_df=2).fit(X).transform(X)
    Y = Y[:, Y.sum(axis=0) > 3]
    one = CalibratedMultiLabelLogistic(cv_repeats=1).fit_indicator(F, Y)
    three = CalibratedMultiLabelLogistic(cv_repeats=3).fit_indicator(F, Y)
    np.testing.assert_allclose(three.coef_, one.coef_)
    assert not np.allclose(three.thresholds_, one.thresholds_)
    oof = np.zeros(Y.shape)
    for seed in (0, 1, 2):
        for train, test in KFold(5, shuffle=True, random_state=seed).split(F):
            for k in range(Y.shape[1]):
                model = LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000,
                                           tol=1e-3).fit(F[train], Y[train, k])
                oof[test, k] += model.decision_function(F[test]) / 3
    expected = tune_thresholds(Y, sigmoid(oof), beta=0.8, min_positives=3)
    np.testing.assert_allclose(three.thresholds_, expected, atol=0.02)
    with pytest.raises(ValueError, match="cv_repeats"):
        CalibratedMultiLabelLogistic(cv_repeats=0).fit_indicator(F, Y)


def test_tuning_weight_zero_rows_train_the_weights_but_not_the_thresholds(data):
    """``tuning_weight``: rows of weight 0 still train every regression (the weights equal a
    plain fit's), but thresholds and calibration are what tuning on the other rows alone
    gives; a selected sample rich in positives no longer drags thresholds down."""
    from sklearn.linear_model import LogisticRegression

    from tagger.calibration import tune_thresholds
    from tagger.classifier import CalibratedMultiLabelLogistic

    X, Y = data
    F = ThemeFeatures(lsa_components=8, lsa_min_df=2).fit(X).transform(X)
    Y = Y[:, Y.sum(axis=0) > 3]
    tuning = np.ones(len(Y))
    tuning[: len(Y) // 3] = 0.0  # the first third: a selected sample
    plain = CalibratedMultiLabelLogistic().fit_indicator(F, Y)
    tuned = CalibratedMultiLabelLogistic().fit_indicator(F, Y, tuning_weight=tuning)
    np.testing.assert_allclose(tuned.coef_, plain.coef_)
    assert not np.allclose(tuned.thresholds_, plain.thresholds_)
    oof = np.zeros(Y.shape)
    for train, test in KFold(5, shuffle=True, random_state=0).split(F):
        for k in range(Y.shape[1]):
            model = LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000,
                                       tol=1e-3).fit(F[train], Y[train, k])
            oof[test, k] = model.decision_function(F[test])
    kept = tuning > 0
    expected = tune_thresholds(Y[kept], sigmoid(oof[kept]), beta=0.8, min_positives=3)
    np.testing.assert_allclose(tuned.thresholds_, expected, atol=0.02)
    # Through the estimator and scikit-learn's own fit-parameter routing.
    records = [{"title": x["title"], "abstract": x["abstract"]} for x in X]
    estimator = quick(load_taxonomy())
    full = np.zeros((len(Y), len(load_taxonomy().ids)), dtype=int)
    full[:, : Y.shape[1]] = Y
    a = clone(estimator).fit(records, full, tuning_weight=tuning)
    b = clone(estimator).fit(records, full)
    np.testing.assert_allclose(a.classifier_.coef_, b.classifier_.coef_)
    assert not np.allclose(a.thresholds_, b.thresholds_)
    with pytest.raises(ValueError, match="tuning_weight"):
        CalibratedMultiLabelLogistic().fit_indicator(F, Y, tuning_weight=tuning[:-1])


# --- the docs/python.md example -------------------------------------------------------------

def test_the_python_page_example_runs(tmp_path, monkeypatch, capsys):
    write_jsonl(tmp_path / "labelled.jsonl", make_labelled_corpus(n=120, seed=5))
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("micro-F1 per fold: [")
    assert isinstance(namespace["model"], ThemeClassifier)
    assert namespace["model"].classes_[0] == load_taxonomy().ids[0]
    assert "'state-space-models'" in printed[1]
    code = [line for line in EXAMPLE.read_text(encoding="utf-8").split('"""')[2].splitlines()
            if line.strip() and not line.startswith(("from ", "import "))]
    assert len(code) <= 5, code


def test_the_python_page_shows_the_example_verbatim():
    body = EXAMPLE.read_text(encoding="utf-8").split('"""', 2)[2].strip()
    page = (REPO / "docs" / "python.md").read_text(encoding="utf-8")
    assert f"```python\n{body}\n```" in page


def test_read_labelled_gives_x_and_y_in_taxonomy_order(tmp_path):
    theme_ids = load_taxonomy().ids
    write_jsonl(tmp_path / "a.jsonl", [
        {"id": "1", "title": "T", "abstract": "First.", "tags": [theme_ids[3], theme_ids[0]]},
        {"id": "2", "abstract": "Second.", "tags": []}])
    X, Y = read_labelled(tmp_path / "a.jsonl")
    assert X == [{"title": "T", "abstract": "First."}, {"title": "", "abstract": "Second."}]
    assert Y.shape == (2, len(theme_ids))
    assert Y[0].nonzero()[0].tolist() == [0, 3] and not Y[1].any()


def test_read_labelled_names_the_line_of_an_unknown_theme(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [
        {"id": "1", "abstract": "Fine.", "tags": []},
        {"id": "2", "abstract": "Bad.", "tags": ["not-a-theme"]}])
    with pytest.raises(CorpusError, match=r"a\.jsonl:2: unknown theme 'not-a-theme'"):
        read_labelled(str(tmp_path / "a.jsonl"))
