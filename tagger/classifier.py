"""A linear multi-label classifier whose scores are calibrated so that 0.5 is every label's
decision point: :class:`CalibratedMultiLabelLogistic`.

Why linear: a few hundred labelled abstracts per theme at most, a 2-core machine that must tag
thousands of abstracts a second, and explanations that fall out of the weights.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from tagger.calibration import calibrated, fit_slopes, logit, sigmoid, tune_thresholds
from tagger.compat import fill_new_parameters

# Modules needed only to *fit* (LogisticRegression, KFold, label_binarize, joblib) are imported
# inside the functions that fit: sklearn.linear_model pulls in model_selection, metrics and
# scipy.stats, a large part of the start-up of a command that only loads a model and tags one
# abstract (python -X importtime; benchmarks/cli_startup.py).


def _logistic_regression() -> type:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression


def nb_scales(X: Any, column: np.ndarray, strength: float, alpha: float = 1.0) -> np.ndarray:
    """Per-feature scales from naive Bayes log-count ratios (Wang & Manning's NBSVM): a
    feature that occurs mostly in one class gets a larger scale, so the L2 penalty holds it
    back less. ``r_j = log((a + pos_j) / |a + pos|_1) - log((a + neg_j) / |a + neg|_1)`` over
    document counts; scale ``= 1 - strength + strength * |r_j| / mean|r|`` for features that
    are never negative (word and phrase blocks), 1 for the others (LSA). ``strength`` 0 gives
    plain logistic regression. Fitting on ``X * scale`` and keeping ``coef * scale`` leaves
    scoring untouched: the model is still one weight per feature."""
    scale = np.ones(X.shape[1])
    if strength <= 0:
        return scale
    import scipy.sparse as sp

    present = (X > 0).astype(np.float64) if sp.issparse(X) else (np.asarray(X) > 0) * 1.0
    positive = column.astype(bool)
    pos = np.asarray(present[positive].sum(axis=0)).ravel() + alpha
    neg = np.asarray(present[~positive].sum(axis=0)).ravel() + alpha
    ratio = np.abs(np.log(pos / pos.sum()) - np.log(neg / neg.sum()))
    minimum = X.min(axis=0)
    nonnegative = np.asarray(minimum.toarray() if sp.issparse(minimum) else minimum).ravel() >= 0
    if nonnegative.any():
        ratio = ratio / max(float(ratio[nonnegative].mean()), 1e-12)
        scale[nonnegative] = 1.0 - strength + strength * ratio[nonnegative]
    return scale


def _fit_labels(X: Any, Y: np.ndarray, sample_weight: np.ndarray, C: float | np.ndarray,
                class_weight: str | None, max_iter: int, tol: float,
                nb_scaling: float = 0.0) -> tuple[np.ndarray, ...]:
    """One L2 logistic regression per column of ``Y`` (``C`` one value or one per column):
    one weight matrix, the intercepts and the most solver iterations any column needed."""
    n_labels = Y.shape[1]
    per_label_C = np.broadcast_to(np.asarray(C, dtype=np.float64), (n_labels,))
    coef = np.zeros((n_labels, X.shape[1]), dtype=np.float64)
    intercept = np.zeros(n_labels, dtype=np.float64)
    n_iter = 0
    for k in range(n_labels):
        column = Y[:, k]
        positives = int(column.sum())
        if positives == 0 or positives == len(column):
            # Nothing to learn: a constant, confidently at the observed rate.
            rate = np.clip(positives / max(len(column), 1), 1e-4, 1 - 1e-4)
            intercept[k] = np.log(rate / (1 - rate))
            continue
        scale = nb_scales(X, column, nb_scaling)
        scaled = X if nb_scaling <= 0 else _scaled_columns(X, scale)
        model = _logistic_regression()(C=float(per_label_C[k]), class_weight=class_weight,
                                       solver="lbfgs", max_iter=max_iter, tol=tol)
        model.fit(scaled, column, sample_weight=sample_weight)
        coef[k], intercept[k] = model.coef_[0] * scale, model.intercept_[0]
        n_iter = max(n_iter, int(np.max(model.n_iter_)))
    return coef, intercept, n_iter


def _scaled_columns(X: Any, scale: np.ndarray) -> Any:
    import scipy.sparse as sp

    if sp.issparse(X):
        return sp.csr_matrix(X @ sp.diags(scale.astype(X.dtype)))
    return np.asarray(X) * scale


def _best_per_label(Y: np.ndarray, oofs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """For each label, the index of the out-of-fold logits with the best average precision
    (the first on ties; labels without positives keep the first)."""
    chosen = np.zeros(Y.shape[1], dtype=np.int64)
    if len(oofs) == 1:
        return chosen
    from sklearn.metrics import average_precision_score

    for k in range(Y.shape[1]):
        if 0 < Y[:, k].sum() < len(Y):
            scores = [average_precision_score(Y[:, k], oof[:, k], sample_weight=weights)
                      for oof in oofs]
            chosen[k] = int(np.argmax(scores))
    return chosen


class CalibratedMultiLabelLogistic(ClassifierMixin, BaseEstimator):
    """One L2 logistic regression per label, with per-label thresholds and calibration learnt
    inside ``fit`` by cross-fitting (no row is scored by a model that trained on it).

    ``predict_proba`` gives calibrated scores and ``predict`` cuts them at 0.5, which is each
    label's tuned threshold (see :mod:`tagger.calibration`). ``y`` may be a label-indicator
    matrix (multi-label: the product's case), or a 1-D array (binary or multiclass, one-vs-rest).

    Parameters
    ----------
    C : inverse regularisation strength; small data wants strong regularisation.
    C_grid : if given, each label picks its own C from these values by the average precision
        of the internal cross-fitting's out-of-fold scores (needs ``cv`` >= 2).
    class_weight : ``"balanced"`` up-weights the rare positives of each label, which matters
        when a theme has 10 positives among 1,300 abstracts; calibration undoes the skew.
    max_iter, tol : solver limits; tol 1e-3 halves training time against 1e-4 with no
        measurable change in cross-validated F1 (thresholds are coarser than that).
    cv : folds of the internal cross-fitting that tunes thresholds and calibration (< 2: no
        tuning, every threshold 0.5 on the raw probability).
    beta : thresholds maximise F-beta; 0.8 leans to precision because most real abstracts
        have no theme at all.
    min_positives : labels with fewer positives keep the raw 0.5 threshold.
    prior_strength : shrinks rare labels' thresholds towards one pooled threshold (0: off).
    nb_scaling : 0 to 1, how far each label's features are scaled by naive Bayes log-count
        ratios before fitting (see :func:`nb_scales`; 0: plain logistic regression).
    cv_repeats : repeat the internal cross-fitting with this many fold splits and average
        each row's out-of-fold logits before tuning: a threshold tuned on 12 positives moves
        with the split (which positives share a fold), and averaging splits removes that part
        of its variance (1: one split).
    random_state : seed of the internal folds (repeat r uses ``random_state + r``).
    n_jobs : parallel internal folds (joblib).
    """

    def __init__(self, C: float = 8.0, C_grid: tuple[float, ...] | None = None,
                 class_weight: str | None = "balanced",
                 max_iter: int = 2000, tol: float = 1e-3, cv: int = 5, beta: float = 0.8,
                 min_positives: int = 3, prior_strength: float = 0.0,
                 nb_scaling: float = 0.0, cv_repeats: int = 1,
                 random_state: int | None = 0, n_jobs: int | None = None):
        self.C = C
        self.C_grid = C_grid
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.beta = beta
        self.min_positives = min_positives
        self.prior_strength = prior_strength
        self.nb_scaling = nb_scaling
        self.cv_repeats = cv_repeats
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __setstate__(self, state: dict) -> None:
        # The shipped model predates cv_repeats: see fill_new_parameters.
        super().__setstate__(fill_new_parameters(type(self), state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None,
            tuning_weight: Any = None) -> CalibratedMultiLabelLogistic:
        """Fit; ``sample_weight`` (one per row) lets silver or skewed data count less;
        ``tuning_weight`` (one per row, default ``sample_weight``) is each row's weight when
        thresholds and calibration are tuned (see :meth:`fit_indicator`)."""
        X, y = validate_data(self, X, y, accept_sparse="csr", multi_output=True,
                             dtype=[np.float64, np.float32])
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("a column-vector y was passed when a 1d array was expected",
                          DataConversionWarning, stacklevel=2)
            y = y.ravel()
        if y.ndim == 1:
            check_classification_targets(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise ValueError("needs samples of at least 2 classes in the data, got 1 class")
            self.multilabel_ = False
            from sklearn.preprocessing import label_binarize

            Y = label_binarize(y, classes=self.classes_)
        else:
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError("a 2-D y must be a 0/1 label-indicator matrix")
            self.classes_ = np.arange(y.shape[1])
            self.multilabel_ = True
            Y = y.astype(np.int8)
        tuning = None if tuning_weight is None else _check_sample_weight(tuning_weight, X)
        return self.fit_indicator(X, Y, _check_sample_weight(sample_weight, X), tuning)

    def fit_indicator(self, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None = None,
                      tuning_weight: np.ndarray | None = None) -> CalibratedMultiLabelLogistic:
        """Fit on a validated feature matrix and a 0/1 indicator matrix (one column per label,
        even for one label): the path :class:`~tagger.estimator.ThemeClassifier` uses.

        ``tuning_weight`` separates what a row teaches the regressions (``sample_weight``) from
        what it says about the stream the thresholds are for: rows of a selected sample (papers
        picked near the decision boundary or by keyword) carry far more positives than the
        stream, and thresholds tuned on them tag too much. Give such rows tuning weight 0 and
        they still train every regression, but thresholds, calibration and the choice of C
        come from the rows that look like the stream. Default: ``sample_weight``."""
        if not hasattr(self, "classes_"):
            self.classes_ = np.arange(Y.shape[1])
            self.multilabel_ = True
            self.n_features_in_ = X.shape[1]
        weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
        tuning = weights if tuning_weight is None else np.asarray(tuning_weight, float)
        if tuning.shape != weights.shape:
            raise ValueError(f"tuning_weight has {tuning.shape[0]} rows for {weights.shape[0]}")
        params = (self.C, self.class_weight, self.max_iter, self.tol, self.nb_scaling)
        thresholds = np.full(Y.shape[1], 0.5)
        slopes = np.ones(Y.shape[1])
        if self.cv >= 2 and X.shape[0] >= 2 * self.cv:
            from joblib import Parallel, delayed
            from sklearn.model_selection import KFold

            if not isinstance(self.cv_repeats, int) or self.cv_repeats < 1:
                raise ValueError(f"cv_repeats must be a positive integer, not "
                                 f"{self.cv_repeats!r}")
            seeds = [None if self.random_state is None else self.random_state + r
                     for r in range(self.cv_repeats)]
            splits = [(train, test) for seed in seeds
                      for train, test in KFold(self.cv, shuffle=True,
                                               random_state=seed).split(X)]
            candidates = list(self.C_grid) if self.C_grid else [self.C]
            oofs = []
            for C in candidates:
                parts = Parallel(n_jobs=self.n_jobs)(
                    delayed(_fit_labels)(X[train], Y[train], weights[train], C, *params[1:])
                    for train, _test in splits)
                oof = np.zeros(Y.shape, dtype=np.float64)  # mean over the repeats
                for (_train, test), (coef, intercept, _n) in zip(splits, parts, strict=True):
                    oof[test] += (np.asarray(X[test] @ coef.T) + intercept) / len(seeds)
                oofs.append(oof)
            chosen = _best_per_label(Y, oofs, tuning)
            if self.C_grid:
                self.C_per_label_ = np.asarray(candidates, dtype=np.float64)[chosen]
                params = (self.C_per_label_, *params[1:])
            oof = np.take_along_axis(np.stack(oofs, axis=2), chosen[None, :, None],
                                     axis=2)[:, :, 0]
            P = sigmoid(oof)
            thresholds = tune_thresholds(Y, P, beta=self.beta, min_positives=self.min_positives,
                                         prior_strength=self.prior_strength,
                                         sample_weight=tuning)
            slopes = fit_slopes(Y, P, thresholds, min_positives=self.min_positives,
                                sample_weight=tuning)
        coef, intercept, n_iter = _fit_labels(X, Y, weights, *params)
        # The solver's iterations, the most any label needed (scikit-learn's convention).
        self.n_iter_ = np.asarray([n_iter], dtype=np.int32)
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = intercept.astype(np.float32)
        # (n_features, n_labels), C-contiguous: scoring multiplies by it directly instead of
        # copying a transposed view on every call (a large share of one-document latency).
        self.coef_t_ = np.ascontiguousarray(self.coef_.T)
        self.thresholds_ = thresholds
        self.threshold_logits_ = logit(thresholds)
        self.slopes_ = slopes
        return self

    # -- scores -----------------------------------------------------------------------------

    def raw_logits(self, X: Any) -> np.ndarray:
        """Uncalibrated per-label logits of already validated features (the hot path)."""
        return np.asarray(X @ self.coef_t_, dtype=np.float64) + self.intercept_

    def scores_from_row(self, columns: np.ndarray, values: np.ndarray,
                        dense: np.ndarray | None = None) -> np.ndarray:
        """Calibrated scores ``(1, n_labels)`` of one row given as sparse entries
        (``columns`` may repeat: repeats add up) and, optionally, a dense tail: the values
        of the last ``len(dense)`` columns. Only the weight rows the row touches are read
        (``take``: a third of the cost of fancy indexing), in float32 like the batch path."""
        coef = self.coef_t_
        logits = (values.astype(np.float32) @ coef.take(columns, axis=0)).astype(np.float64)
        if dense is not None and len(dense):
            logits += dense @ coef[len(coef) - len(dense):]
        return calibrated((logits + self.intercept_)[None, :], self.threshold_logits_,
                          self.slopes_)

    def scores(self, X: Any) -> np.ndarray:
        """Calibrated per-label scores ``(n_samples, n_labels)`` of validated features."""
        return calibrated(self.raw_logits(X), self.threshold_logits_, self.slopes_)

    def _validated(self, X: Any) -> Any:
        check_is_fitted(self, "coef_")
        return validate_data(self, X, accept_sparse="csr", reset=False,
                             dtype=[np.float64, np.float32])

    def decision_function(self, X: Any) -> np.ndarray:
        """Calibrated logits: positive exactly where ``predict`` gives the label."""
        X = self._validated(X)
        z = (self.raw_logits(X) - self.threshold_logits_) * self.slopes_
        if self.multilabel_:
            return z
        return z[:, 0] if len(self.classes_) == 2 else z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Multi-label: per-label calibrated scores. Binary/multiclass: class probabilities
        (one-vs-rest scores normalised to sum to one)."""
        S = self.scores(self._validated(X))
        if self.multilabel_:
            return S
        if len(self.classes_) == 2:
            return np.column_stack([1.0 - S[:, 0], S[:, 0]])
        totals = S.sum(axis=1, keepdims=True)
        return np.where(totals > 0, S / np.where(totals > 0, totals, 1.0), 1.0 / S.shape[1])

    def predict(self, X: Any) -> np.ndarray:
        """Multi-label: the 0/1 matrix of scores >= 0.5. Otherwise class labels."""
        S = self.scores(self._validated(X))
        if self.multilabel_:
            return (S >= 0.5).astype(np.int64)
        if len(self.classes_) == 2:
            return self.classes_[(S[:, 0] >= 0.5).astype(int)]
        return self.classes_[np.argmax(S, axis=1)]
