"""Per-theme decision thresholds and score calibration, learnt from out-of-fold scores.

A multi-label model's raw probabilities live on different scales per theme (frequent and rare
themes, class weighting), so one cut-off is wrong for all of them. Each theme gets:

1. a **threshold**: the cut-off on out-of-fold probabilities that maximises F-beta (beta < 1
   leans to precision: the real stream is mostly papers with no theme). With few positives the
   estimate is noise, so it can be shrunk (in logit space) towards one shared threshold tuned
   on all themes' scores pooled;
2. a **slope**: the score is ``sigmoid(slope * (logit(p) - logit(threshold)))``, fitted by
   maximum likelihood on the out-of-fold scores (Platt scaling with the intercept pinned).
   So a theme is tagged exactly when its score is at least 0.5, for every theme, and a score
   says how likely the tag is right the same way for every theme (calibration error is
   reported by ``tagger evaluate``).
"""

from __future__ import annotations

import numpy as np

# Thresholds are searched on this grid; a coarse grid is itself a regulariser on small data.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
_EPS = 1e-6


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fbeta_by_threshold(y_true: np.ndarray, scores: np.ndarray, grid: np.ndarray,
                       beta: float, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """F-beta of ``scores >= t`` for every ``t`` of ``grid`` (0 where nothing is right)."""
    y = np.asarray(y_true, dtype=bool)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    predicted = scores[None, :] >= grid[:, None]
    tp = (predicted & y) @ w
    fp = (predicted & ~y) @ w
    fn = (~predicted & y) @ w
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return np.where(tp > 0, (1 + b2) * tp / np.maximum(denominator, 1e-12), 0.0)


def best_threshold(y_true: np.ndarray, scores: np.ndarray, beta: float = 1.0,
                   tolerance: float = 0.005, sample_weight: np.ndarray | None = None) -> float:
    """The F-beta-optimal cut-off on :data:`THRESHOLD_GRID`; among cut-offs within
    ``tolerance`` of the best, the median: the middle of a flat optimum moves least when new
    data arrive."""
    f = fbeta_by_threshold(y_true, scores, THRESHOLD_GRID, beta, sample_weight)
    return float(np.median(THRESHOLD_GRID[f >= f.max() - tolerance]))


def tune_thresholds(Y: np.ndarray, P: np.ndarray, beta: float = 1.0, min_positives: int = 3,
                    prior_strength: float = 0.0, default: float = 0.5,
                    sample_weight: np.ndarray | None = None) -> np.ndarray:
    """One threshold per column of the out-of-fold probabilities ``P``.

    Columns with fewer than ``min_positives`` positives keep ``default``. With
    ``prior_strength`` m > 0, a theme with n positives gets
    ``logit t = (n * logit t_theme + m * logit t_pooled) / (n + m)``: rare themes lean on the
    threshold that is best for all themes together.
    """
    Y = np.asarray(Y, dtype=bool)
    weights = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, float)
    positives = (Y * weights[:, None]).sum(axis=0)
    counts = (Y & (weights > 0)[:, None]).sum(axis=0)  # rows of weight 0 say nothing
    pooled = default
    if prior_strength > 0:
        pooled = best_threshold(Y.ravel(), P.ravel(), beta,
                                sample_weight=np.repeat(weights, Y.shape[1]))
    thresholds = np.full(Y.shape[1], float(default))
    for k in range(Y.shape[1]):
        if counts[k] < min_positives:
            continue
        own = best_threshold(Y[:, k], P[:, k], beta, sample_weight=sample_weight)
        if prior_strength > 0:
            n = float(positives[k])
            own = float(sigmoid((n * logit(own) + prior_strength * logit(pooled))
                                / (n + prior_strength)))
        thresholds[k] = own
    return thresholds


def fit_slopes(Y: np.ndarray, P: np.ndarray, thresholds: np.ndarray,
               min_positives: int = 3, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Per theme, the slope ``a`` of ``sigmoid(a * (logit p - logit t))`` that best explains
    the out-of-fold labels (weighted maximum likelihood; 1.0 where there is too little to
    fit)."""
    Y = np.asarray(Y, dtype=bool)
    weights = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, float)
    counted = weights > 0
    slopes = np.ones(Y.shape[1])
    for k in range(Y.shape[1]):
        y = Y[:, k]
        if (y & counted).sum() < min_positives or (~y & counted).sum() < min_positives:
            continue
        shifted = (logit(P[:, k]) - logit(thresholds[k]))[:, None]
        from sklearn.linear_model import LogisticRegression  # fit-time only, see classifier.py

        model = LogisticRegression(fit_intercept=False, C=100.0).fit(
            shifted[counted], y[counted], sample_weight=weights[counted])
        slope = float(model.coef_[0, 0])
        if slope > 0.05:  # a non-increasing fit means no signal: keep the raw scale
            slopes[k] = slope
    return slopes


def calibrated(logits: np.ndarray, threshold_logits: np.ndarray,
               slopes: np.ndarray) -> np.ndarray:
    """Calibrated scores from raw logits: 0.5 exactly at each theme's threshold."""
    return sigmoid((logits - threshold_logits) * slopes)
