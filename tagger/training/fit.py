"""Fit a model: cross-validate, tune per-theme thresholds on out-of-fold scores, refit on all
data. Deterministic: the same data and seed give the same model and the same numbers."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from tagger.corpus import Document
from tagger.model import build_model
from tagger.tagging import Tagger
from tagger.taxonomy import Taxonomy
from tagger.training.metrics import label_matrix, multilabel_report
from tagger.training.thresholds import tune_thresholds

# Name recorded in manifests; see training/EXPERIMENTS.md for what it stands for.
DESIGN_NAME = "lemma-phrase-lsa-logistic-v3"
# Per-theme thresholds maximise F0.8: the real stream is mostly off-topic papers, and leaning
# to precision cut no-theme false positives by a quarter at the same micro-F1 (EXPERIMENTS.md).
THRESHOLD_PARAMS = {"beta": 0.8}


@dataclass
class CrossValidation:
    """Out-of-fold probabilities and the honest metrics computed from them."""

    probabilities: np.ndarray
    thresholds: np.ndarray
    report: dict


def fit_pipeline(
    model: Pipeline, texts: Sequence[str], Y: np.ndarray, weights: np.ndarray | None = None,
    unlabelled: Sequence[str] = (),
) -> Pipeline:
    """Fit a fresh clone of ``model``; ``weights`` (one per text) reach the classifier as
    sample weights, so silver or skewed documents can count less than gold ones;
    ``unlabelled`` texts reach the features (the LSA block learns word co-occurrence there)."""
    fitted = clone(model)
    params: dict = {"features__unlabelled_texts": list(unlabelled)}
    if weights is not None and not np.all(weights == 1.0):
        params["classifier__sample_weight"] = np.asarray(weights, float)
    return fitted.fit(list(texts), Y, **params)


@dataclass
class ExtraData:
    """Documents added to every training fold but never scored: the seed set when
    validating on the arXiv stream, or silver (weakly labelled) documents."""

    texts: list[str]
    Y: np.ndarray
    weights: np.ndarray
    unlabelled: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, n_labels: int) -> ExtraData:
        return cls([], np.zeros((0, n_labels), dtype=np.int8), np.zeros(0))

    def __add__(self, other: ExtraData) -> ExtraData:
        return ExtraData(self.texts + other.texts, np.vstack([self.Y, other.Y]),
                         np.concatenate([self.weights, other.weights]),
                         self.unlabelled + other.unlabelled)


def _fit_fold(
    model: Pipeline, texts: list[str], Y: np.ndarray, weights: np.ndarray, train, test,
    extra: ExtraData | None,
) -> np.ndarray:
    train_texts = [texts[i] for i in train]
    train_Y, train_w = Y[train], weights[train]
    if extra is not None and extra.texts:
        train_texts += extra.texts
        train_Y = np.vstack([train_Y, extra.Y])
        train_w = np.concatenate([train_w, extra.weights])
    fitted = fit_pipeline(model, train_texts, train_Y, train_w,
                          unlabelled=extra.unlabelled if extra is not None else ())
    return fitted.predict_proba([texts[i] for i in test])


def n_jobs_default() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 4))


def out_of_fold(
    model: Pipeline,
    texts: Sequence[str],
    Y: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    weights: np.ndarray | None = None,
    extra: ExtraData | None = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Probabilities for every text from a model that never trained on it (one fit per
    split, in parallel; results do not depend on the number of jobs)."""
    texts = list(texts)
    weights = np.ones(len(texts)) if weights is None else np.asarray(weights, float)
    parts = Parallel(n_jobs=n_jobs or n_jobs_default())(
        delayed(_fit_fold)(model, texts, Y, weights, train, test, extra)
        for train, test in splits
    )
    P = np.zeros(Y.shape, dtype=np.float64)
    for (_train, test), part in zip(splits, parts, strict=True):
        P[test] = part
    return P


def cross_fitted_predictions(
    Y: np.ndarray, P: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]],
    threshold_params: dict | None = None,
) -> np.ndarray:
    """Thresholded out-of-fold predictions where fold ``f`` uses thresholds tuned on the other
    folds' out-of-fold scores only, so no figure uses a threshold chosen on its own documents."""
    predicted = np.zeros(Y.shape, dtype=bool)
    everything = np.arange(len(Y))
    for _train, test in splits:
        others = np.setdiff1d(everything, test)
        predicted[test] = P[test] >= tune_thresholds(Y[others], P[others],
                                                     **(threshold_params or {}))
    return predicted


def cross_validate(
    model: Pipeline,
    texts: Sequence[str],
    Y: np.ndarray,
    theme_ids: Sequence[str],
    folds: int = 5,
    seed: int = 0,
    n_jobs: int | None = None,
    weights: np.ndarray | None = None,
    extra: ExtraData | None = None,
    threshold_params: dict | None = None,
) -> CrossValidation:
    """K-fold out-of-fold probabilities, then per-theme thresholds.

    The reported metrics are cross-fitted (see :func:`cross_fitted_predictions`). ``extra``
    documents join every training fold but are never scored: metrics describe ``texts`` only.
    """
    texts = list(texts)
    splits = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts))
    P = out_of_fold(model, texts, Y, splits, weights=weights, extra=extra, n_jobs=n_jobs)
    predicted = cross_fitted_predictions(Y, P, splits, threshold_params)
    return CrossValidation(P, tune_thresholds(Y, P, **(threshold_params or {})),
                           multilabel_report(Y, predicted, theme_ids))


def check_tags(documents: Sequence[Document], taxonomy: Taxonomy) -> None:
    """Refuse training data whose tags are not in the taxonomy, naming the record."""
    known = set(taxonomy.ids)
    for doc in documents:
        unknown = [tag for tag in doc.tags or () if tag not in known]
        if unknown:
            raise ValueError(
                f"{doc.source}:{doc.line}: tag(s) {', '.join(unknown)} not in taxonomy "
                f"{taxonomy.name!r}"
            )


def learning_curve(
    model: Pipeline,
    texts: Sequence[str],
    Y: np.ndarray,
    theme_ids: Sequence[str],
    sizes: Sequence[int],
    folds: int = 5,
    seed: int = 0,
    extra: ExtraData | None = None,
    n_jobs: int | None = None,
) -> list[dict]:
    """Cross-validated micro/macro F1 when each training fold is cut to ``n`` documents.

    The same folds as :func:`cross_validate` are used; each fold's training part is
    subsampled (seeded, nested: a smaller set is a prefix of a larger one) and thresholds are
    cross-fitted, so every point is as honest as the full figure. Sizes at or above the full
    fold size are skipped (the full model's own CV figure is the last point).
    """
    texts = list(texts)
    splits = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts))
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(train) for train, _test in splits]
    points = []
    for n in sorted(set(sizes)):
        if n >= min(len(train) for train, _test in splits):
            continue
        cut = [(order[:n], test) for order, (_train, test) in zip(orders, splits, strict=True)]
        P = out_of_fold(model, texts, Y, cut, extra=extra, n_jobs=n_jobs)
        predicted = cross_fitted_predictions(Y, P, splits, THRESHOLD_PARAMS)
        report = multilabel_report(Y, predicted, theme_ids)
        points.append({"n_train": int(n), "micro_f1": report["micro_f1"],
                       "macro_f1": report["macro_f1"]})
    return points


def train_tagger(
    documents: Sequence[Document],
    taxonomy: Taxonomy,
    folds: int = 5,
    seed: int = 0,
    params: dict | None = None,
    n_jobs: int | None = None,
    silver: Sequence[Document] = (),
    silver_weight: float = 0.3,
    learning_curve_sizes: Sequence[int] = (),
    unlabelled: Sequence[str] = (),
) -> tuple[Tagger, dict]:
    """Train on labelled documents; returns the tagger and the training facts for its manifest.

    ``folds < 2`` skips cross-validation: thresholds stay at 0.5 and no metrics are reported.
    ``silver`` documents (weak labels) join every training fold and the final fit with sample
    weight ``silver_weight``; they are never scored, so the reported metrics stay gold-only.
    ``learning_curve_sizes`` adds a learning curve (see :func:`learning_curve`).
    ``unlabelled`` texts (no tags) only shape the features: the LSA block learns which words
    co-occur from them, in every fold and in the final fit.
    """
    check_tags(documents, taxonomy)
    check_tags(silver, taxonomy)
    if not 0 < silver_weight <= 1:
        raise ValueError(f"silver weight must be in (0, 1], not {silver_weight}")
    started = time.perf_counter()
    ids = taxonomy.ids
    texts = [doc.text for doc in documents]
    Y = label_matrix([doc.tags or () for doc in documents], ids)
    extra = None
    if silver or unlabelled:
        extra = ExtraData([doc.text for doc in silver],
                          label_matrix([doc.tags or () for doc in silver], ids),
                          np.full(len(silver), float(silver_weight)), list(unlabelled))
    model = build_model(taxonomy, **(params or {}))
    facts: dict = {
        "design": {"name": DESIGN_NAME, "params": _plain(model.get_params()),
                   "thresholds": THRESHOLD_PARAMS},
        "training": {"seed": seed, "cv_folds": folds, "n_documents": len(documents),
                     "positives": dict(zip(ids, map(int, Y.sum(axis=0)), strict=True))},
    }
    if unlabelled:
        facts["training"]["unlabelled_documents"] = len(unlabelled)
    if silver:
        facts["training"]["silver"] = {"n_documents": len(silver), "weight": silver_weight}
    if folds >= 2:
        cv = cross_validate(model, texts, Y, ids, folds=folds, seed=seed, n_jobs=n_jobs,
                            extra=extra, threshold_params=THRESHOLD_PARAMS)
        thresholds = cv.thresholds
        facts["cv_metrics"] = cv.report
        if learning_curve_sizes:
            curve = learning_curve(model, texts, Y, ids, learning_curve_sizes, folds=folds,
                                   seed=seed, extra=extra, n_jobs=n_jobs)
            n_full = len(texts) - len(texts) // folds
            facts["learning_curve"] = curve + [{"n_train": n_full,
                                                "micro_f1": cv.report["micro_f1"],
                                                "macro_f1": cv.report["macro_f1"]}]
    else:
        thresholds = np.full(len(taxonomy), 0.5)
    all_texts, all_Y, weights = texts, Y, None
    if extra is not None:
        all_texts = texts + extra.texts
        all_Y = np.vstack([Y, extra.Y])
        weights = np.concatenate([np.ones(len(texts)), extra.weights])
    pipeline = fit_pipeline(model, all_texts, all_Y, weights, unlabelled=unlabelled)
    facts["training"]["seconds"] = round(time.perf_counter() - started, 1)
    return Tagger(taxonomy, pipeline, thresholds), facts


def _plain(params: dict) -> dict:
    """Estimator parameters as JSON-friendly values (nested estimators and long tuples out)."""
    plain = {}
    for key, value in params.items():
        if key in ("steps", "memory", "verbose") or "theme_phrases" in key:
            continue
        if isinstance(value, (int, float, str, bool)) or value is None:
            plain[key] = value
        elif isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value):
            plain[key] = list(value)
    return plain
