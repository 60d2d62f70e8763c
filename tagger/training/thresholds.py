"""Per-theme decision thresholds chosen on out-of-fold (cross-validated) probabilities.

A single global threshold is wrong for a multi-label model: frequent themes and rare themes
get probabilities on different scales. Each theme gets the threshold that maximises its F1 on
predictions for documents the model did not train on.
"""

from __future__ import annotations

import numpy as np

# Thresholds are searched on this grid; a coarse grid is itself a regulariser on small data.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def best_threshold(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    default: float = 0.5,
    min_positives: int = 3,
    beta: float = 1.0,
    floor: float = 0.05,
    tolerance: float = 0.005,
) -> float:
    """Threshold with the best F-beta for one theme.

    With fewer than ``min_positives`` positives the estimate is noise, so ``default`` is kept.
    Among thresholds within ``tolerance`` of the best score, the median is taken: the middle
    of a flat optimum moves least when new data arrives. ``beta`` < 1 favours precision (the
    real stream is mostly off-topic papers); ``floor`` is the lowest threshold allowed, so a
    theme whose out-of-fold scores are all tiny cannot end up tagging everything.
    """
    y_true = np.asarray(y_true, dtype=bool)
    if y_true.sum() < min_positives:
        return float(default)
    grid = THRESHOLD_GRID[THRESHOLD_GRID >= floor]
    b2 = beta * beta
    scores = []
    for threshold in grid:
        predicted = probabilities >= threshold
        tp = np.sum(predicted & y_true)
        fp = np.sum(predicted & ~y_true)
        fn = np.sum(~predicted & y_true)
        scores.append((1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0)
    scores = np.array(scores)
    near_best = grid[scores >= scores.max() - tolerance]
    return float(np.median(near_best))


def tune_thresholds(
    Y_true: np.ndarray, P: np.ndarray, default: float = 0.5, min_positives: int = 3,
    **options: float,
) -> np.ndarray:
    """One threshold per column of ``P`` (see :func:`best_threshold` for ``options``)."""
    return np.array(
        [
            best_threshold(Y_true[:, k], P[:, k], default=default,
                           min_positives=min_positives, **options)
            for k in range(P.shape[1])
        ],
        dtype=np.float64,
    )
