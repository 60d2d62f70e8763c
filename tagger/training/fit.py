"""Fit a model: cross-validate, report honest metrics, refit on all data. Deterministic: the
same data and seed give the same model and the same numbers.

Thresholds and calibration are learnt inside :class:`~tagger.estimator.ThemeClassifier`'s own
``fit`` (by cross-fitting on its training rows), so the cross-validated figures here are
nested: each outer fold's model tuned its thresholds without ever seeing that fold.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import KFold, cross_val_predict, learning_curve

from tagger.corpus import Document
from tagger.estimator import ThemeClassifier, build_model
from tagger.fields import UnlabelledPapers
from tagger.tagging import Tagger
from tagger.taxonomy import Taxonomy
from tagger.training.metrics import calibration_report, label_matrix, multilabel_report

# Name recorded in manifests; see training/EXPERIMENTS.md for what it stands for.
DESIGN_NAME = "fields-lemma-phrase-lsa-calibrated-logistic-v4"


def fields_of(documents: Sequence[Document]) -> np.ndarray:
    """The estimator's input table for documents: an ``(n, 2)`` object array of
    ``(title, abstract)`` rows, which scikit-learn's splitters index by row."""
    table = np.empty((len(documents), 2), dtype=object)
    for row, doc in enumerate(documents):
        table[row, 0], table[row, 1] = doc.title, doc.abstract
    return table


def n_jobs_default() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 4))


@dataclass
class CrossValidation:
    """Out-of-fold calibrated scores and the honest metrics computed from them."""

    scores: np.ndarray
    report: dict
    calibration: dict


@dataclass
class ExtraData:
    """Documents added to every training fold but never scored: the seed set when validating
    on the arXiv stream, or silver (weakly labelled) documents."""

    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray
    # each row's weight in threshold tuning (None: ``weights``); 0 for a selected sample
    tuning: np.ndarray | None = None

    def tuning_weights(self) -> np.ndarray:
        return self.weights if self.tuning is None else self.tuning


def joined(parts: Sequence[ExtraData]) -> ExtraData | None:
    """Several groups of extra documents as one (None when there are none)."""
    parts = [part for part in parts if len(part.Y)]
    if not parts:
        return None
    tuning = (None if all(p.tuning is None for p in parts)
              else np.concatenate([p.tuning_weights() for p in parts]))
    return ExtraData(np.vstack([p.X for p in parts]), np.vstack([p.Y for p in parts]),
                     np.concatenate([p.weights for p in parts]), tuning)


def _fit_fold(model: ThemeClassifier, X: np.ndarray, Y: np.ndarray, weights: np.ndarray,
              tuning: np.ndarray, train, test, extra: ExtraData,
              unlabelled: UnlabelledPapers | None) -> np.ndarray:
    fitted = clone(model).fit(np.vstack([X[train], extra.X]), np.vstack([Y[train], extra.Y]),
                              sample_weight=np.concatenate([weights[train], extra.weights]),
                              unlabelled=unlabelled,
                              tuning_weight=np.concatenate([tuning[train],
                                                            extra.tuning_weights()]))
    return fitted.predict_proba(X[test])


def out_of_fold_scores(
    model: ThemeClassifier, X: np.ndarray, Y: np.ndarray, splits: Sequence[tuple],
    weights: np.ndarray | None = None, extra: ExtraData | None = None,
    unlabelled: UnlabelledPapers | None = None, n_jobs: int | None = None,
    tuning_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Calibrated scores for every scored record from a model that never trained on it.

    Without ``extra`` this is ``cross_val_predict``; with it (documents that join every
    training fold but are never scored, which ``cross_val_predict``'s partition rule cannot
    express) the same thing as a loop over the splits. ``tuning_weights``: the scored rows'
    weights in threshold tuning when they are training rows (default ``weights``)."""
    weights = np.ones(len(Y)) if weights is None else np.asarray(weights, float)
    tuning = weights if tuning_weights is None else np.asarray(tuning_weights, float)
    if extra is None:
        return cross_val_predict(
            model, X, Y, cv=list(splits), method="predict_proba",
            n_jobs=n_jobs or n_jobs_default(),
            params={"sample_weight": weights, "unlabelled": unlabelled,
                    "tuning_weight": tuning})
    parts = Parallel(n_jobs=n_jobs or n_jobs_default())(
        delayed(_fit_fold)(model, X, Y, weights, tuning, train, test, extra, unlabelled)
        for train, test in splits)
    S = np.zeros(Y.shape, dtype=np.float64)
    for (_train, test), part in zip(splits, parts, strict=True):
        S[test] = part
    return S


def cross_validate(
    model: ThemeClassifier, X: np.ndarray, Y: np.ndarray, theme_ids: Sequence[str],
    folds: int = 5, seed: int = 0, n_jobs: int | None = None,
    weights: np.ndarray | None = None, extra: ExtraData | None = None,
    unlabelled: UnlabelledPapers | None = None, tuning_weights: np.ndarray | None = None,
) -> CrossValidation:
    """K-fold out-of-fold scores, the tags they give (score >= 0.5) and their metrics.
    ``extra`` documents join every training fold but are never scored; ``tuning_weights``
    are the scored rows' weights in threshold tuning while they train."""
    splits = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(Y))
    S = out_of_fold_scores(model, X, Y, splits, weights=weights, extra=extra,
                           unlabelled=unlabelled, n_jobs=n_jobs, tuning_weights=tuning_weights)
    return CrossValidation(S, multilabel_report(Y, S >= 0.5, theme_ids),
                           calibration_report(Y, S, theme_ids))


def no_theme_factor(Y: np.ndarray, tuning: np.ndarray, share: float) -> float:
    """The factor on the tuning weight of the rows without a theme that makes them ``share``
    of the (weighted) rows thresholds are tuned on.

    Thresholds trade a theme's misses against its false alarms, and most false alarms a
    stream sees fall on papers with no theme at all: a training mix with fewer of those than
    the stream (enriched or keyword-selected labels) tunes thresholds that tag too much."""
    if not 0 < share < 1:
        raise ValueError(f"no-theme share must be in (0, 1), not {share}")
    none = ~np.asarray(Y, dtype=bool).any(axis=1)
    weight_none, weight_themed = float(tuning[none].sum()), float(tuning[~none].sum())
    if weight_none == 0 or weight_themed == 0:
        return 1.0
    return share / (1 - share) * weight_themed / weight_none


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


def micro_f1_curve(
    model: ThemeClassifier, X: np.ndarray, Y: np.ndarray, sizes: Sequence[int], folds: int = 5,
    seed: int = 0, unlabelled: UnlabelledPapers | None = None, n_jobs: int | None = None,
    tuning_weights: np.ndarray | None = None,
) -> list[dict]:
    """Cross-validated micro-F1 when each training fold is cut to ``n`` records
    (``sklearn.model_selection.learning_curve``; sizes at or above a full fold are skipped)."""
    full = len(Y) - len(Y) // folds
    sizes = sorted({int(n) for n in sizes if int(n) < full})
    if not sizes:
        return []
    cv = KFold(n_splits=folds, shuffle=True, random_state=seed)
    scorer = make_scorer(f1_score, average="micro", zero_division=0)
    n_train, _train_scores, test_scores = learning_curve(
        model, X, Y, train_sizes=sizes, cv=cv, scoring=scorer, shuffle=True,
        random_state=seed, n_jobs=n_jobs or n_jobs_default(),
        params={"unlabelled": unlabelled} | (
            {} if tuning_weights is None else {"tuning_weight": tuning_weights}))
    return [{"n_train": int(n), "micro_f1": round(float(np.mean(s)), 4)}
            for n, s in zip(n_train, test_scores, strict=True)]


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
    unlabelled: Sequence[Document] = (),
    representation: object | None = None,
    selected: Sequence[Document] = (),
    selected_weight: float = 1.0,
    no_theme_share: float | None = None,
) -> tuple[Tagger, dict]:
    """Train on labelled documents; returns the tagger and the training facts for its manifest.

    ``folds < 2`` skips the cross-validated report (the estimator still tunes its thresholds
    internally when it has enough data). ``silver`` documents (weak labels) join every training
    fold and the final fit with sample weight ``silver_weight``; they are never scored, so the
    reported metrics stay gold-only. ``unlabelled`` documents only shape the features (the LSA
    block). ``representation`` is a prefit learnt representation (see
    :mod:`tagger.representations`) added as a feature block.

    ``selected`` documents are gold labels of a *selected* sample (papers picked near the
    model's decision boundary, by keyword, or by the review queue): they join every training
    fold and the final fit at ``selected_weight`` and are never scored, and only those whose
    ``selection`` is ``random`` tune thresholds and calibration (see ``tuning_weight`` in
    :meth:`~tagger.classifier.CalibratedMultiLabelLogistic.fit_indicator`): their theme rates
    are not the stream's.

    ``no_theme_share``: the share of papers without a theme in the stream the model will tag;
    training papers without a theme are weighted in threshold tuning (only there) so that they
    make up that share (:func:`no_theme_factor`). None: as they come.
    """
    check_tags(documents, taxonomy)
    check_tags(silver, taxonomy)
    check_tags(selected, taxonomy)
    if not 0 < silver_weight <= 1:
        raise ValueError(f"silver weight must be in (0, 1], not {silver_weight}")
    if not 0 < selected_weight <= 1:
        raise ValueError(f"selected weight must be in (0, 1], not {selected_weight}")
    started = time.perf_counter()
    ids = taxonomy.ids
    X = fields_of(documents)
    Y = label_matrix([doc.tags or () for doc in documents], ids)
    model = build_model(taxonomy, classifier__random_state=seed, **(params or {}))
    if representation is not None:
        model.set_params(features__representation=representation)
    pool = UnlabelledPapers(fields_of(unlabelled)) if unlabelled else None
    extra = joined([
        ExtraData(fields_of(silver), label_matrix([d.tags or () for d in silver], ids),
                  np.full(len(silver), float(silver_weight))),
        ExtraData(fields_of(selected), label_matrix([d.tags or () for d in selected], ids),
                  np.full(len(selected), float(selected_weight)),
                  np.array([1.0 if d.selection == "random" else 0.0 for d in selected])),
    ])
    tuning = np.ones(len(Y))
    if no_theme_share is not None:
        all_Y = Y if extra is None else np.vstack([Y, extra.Y])
        all_t = tuning if extra is None else np.concatenate([tuning, extra.tuning_weights()])
        factor = no_theme_factor(all_Y, all_t, no_theme_share)
        tuning = np.where(Y.any(axis=1), 1.0, factor)
        if extra is not None:
            extra = ExtraData(extra.X, extra.Y, extra.weights,
                              np.where(extra.Y.any(axis=1), 1.0, factor)
                              * extra.tuning_weights())
    facts: dict = {
        "design": {"name": DESIGN_NAME, "params": _plain(model.get_params())},
        "training": {"seed": seed, "cv_folds": folds, "n_documents": len(documents),
                     "positives": dict(zip(ids, map(int, Y.sum(axis=0)), strict=True))},
    }
    if unlabelled:
        facts["training"]["unlabelled_documents"] = len(unlabelled)
    if silver:
        facts["training"]["silver"] = {"n_documents": len(silver), "weight": silver_weight}
    if no_theme_share is not None:
        facts["training"]["no_theme_tuning"] = {"share": no_theme_share,
                                                "factor": round(factor, 3)}
    if selected:
        facts["training"]["selected"] = {
            "n_documents": len(selected), "weight": selected_weight,
            "tuning_documents": sum(d.selection == "random" for d in selected),
            "positives": dict(zip(ids, map(int, label_matrix(
                [d.tags or () for d in selected], ids).sum(axis=0)), strict=True))}
    if folds >= 2:
        cv = cross_validate(model, X, Y, ids, folds=folds, seed=seed, n_jobs=n_jobs,
                            extra=extra, unlabelled=pool, tuning_weights=tuning)
        facts["cv_metrics"] = cv.report
        facts["cv_calibration"] = {k: v for k, v in cv.calibration.items()
                                   if k != "reliability"}
        if learning_curve_sizes:
            curve = micro_f1_curve(model, X, Y, learning_curve_sizes, folds=folds, seed=seed,
                                   unlabelled=pool, n_jobs=n_jobs, tuning_weights=tuning)
            facts["learning_curve"] = curve + [{"n_train": len(Y) - len(Y) // folds,
                                                "micro_f1": cv.report["micro_f1"]}]
    all_X, all_Y, weights = X, Y, None
    if extra is not None:
        all_X = np.vstack([X, extra.X])
        all_Y = np.vstack([Y, extra.Y])
        weights = np.concatenate([np.ones(len(Y)), extra.weights])
        tuning = np.concatenate([tuning, extra.tuning_weights()])
    estimator = clone(model).fit(all_X, all_Y, sample_weight=weights, unlabelled=pool,
                                 tuning_weight=tuning)
    facts["training"]["seconds"] = round(time.perf_counter() - started, 1)
    return Tagger(taxonomy, estimator), facts


def _plain(params: dict) -> dict:
    """Estimator parameters as JSON-friendly values (nested estimators and long tuples out)."""
    plain = {}
    for key, value in params.items():
        if "theme_phrases" in key or key == "themes":
            continue
        if isinstance(value, (int, float, str, bool)) or value is None:
            plain[key] = value
        elif isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value):
            plain[key] = list(value)
    return plain
