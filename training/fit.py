"""Fit a model: cross-validate, tune per-theme thresholds on out-of-fold scores, refit on all
data. Deterministic: the same data and seed give the same model and the same numbers."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from tagger.corpus import Document
from tagger.model import build_model
from tagger.tagging import Tagger
from tagger.taxonomy import Taxonomy
from training.metrics import label_matrix, multilabel_report
from training.thresholds import tune_thresholds


@dataclass
class CrossValidation:
    """Out-of-fold probabilities and the honest metrics computed from them."""

    probabilities: np.ndarray
    thresholds: np.ndarray
    report: dict


def _fit_fold(model: Pipeline, texts: list[str], Y: np.ndarray, train, test) -> np.ndarray:
    fitted = clone(model).fit([texts[i] for i in train], Y[train])
    return fitted.predict_proba([texts[i] for i in test])


def n_jobs_default() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 4))


def cross_validate(
    model: Pipeline,
    texts: Sequence[str],
    Y: np.ndarray,
    theme_ids: Sequence[str],
    folds: int = 5,
    seed: int = 0,
    n_jobs: int | None = None,
) -> CrossValidation:
    """K-fold out-of-fold probabilities, then per-theme thresholds.

    The reported metrics are cross-fitted: the predictions of fold ``f`` are thresholded with
    thresholds tuned on the other folds' out-of-fold scores, so the figures never use a
    threshold chosen on the very documents they score.
    """
    texts = list(texts)
    splits = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts))
    parts = Parallel(n_jobs=n_jobs or n_jobs_default())(
        delayed(_fit_fold)(model, texts, Y, train, test) for train, test in splits
    )
    P = np.zeros(Y.shape, dtype=np.float64)
    for (_train, test), part in zip(splits, parts, strict=True):
        P[test] = part
    predicted = np.zeros(Y.shape, dtype=bool)
    for _train, test in splits:
        others = np.setdiff1d(np.arange(len(texts)), test)
        predicted[test] = P[test] >= tune_thresholds(Y[others], P[others])
    return CrossValidation(P, tune_thresholds(Y, P), multilabel_report(Y, predicted, theme_ids))


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


def train_tagger(
    documents: Sequence[Document],
    taxonomy: Taxonomy,
    folds: int = 5,
    seed: int = 0,
    params: dict | None = None,
    n_jobs: int | None = None,
) -> tuple[Tagger, dict]:
    """Train on labelled documents; returns the tagger and the training facts for its manifest.

    ``folds < 2`` skips cross-validation: thresholds stay at 0.5 and no metrics are reported.
    """
    check_tags(documents, taxonomy)
    started = time.perf_counter()
    texts = [doc.text for doc in documents]
    Y = label_matrix([doc.tags or () for doc in documents], taxonomy.ids)
    model = build_model(taxonomy, **(params or {}))
    facts: dict = {
        "design": {"name": "lemma-char-phrase-logistic", "params": _plain(model.get_params())},
        "training": {"seed": seed, "cv_folds": folds, "n_documents": len(documents),
                     "positives": dict(zip(taxonomy.ids, map(int, Y.sum(axis=0)), strict=True))},
    }
    if folds >= 2:
        cv = cross_validate(model, texts, Y, taxonomy.ids, folds=folds, seed=seed, n_jobs=n_jobs)
        thresholds = cv.thresholds
        facts["cv_metrics"] = cv.report
    else:
        thresholds = np.full(len(taxonomy), 0.5)
    pipeline = clone(model).fit(texts, Y)
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
