"""Multi-label metrics: the one module used by ``tagger evaluate``, cross-validation, the
experiments and the tests, so every reported number is computed the same way. The counting is
scikit-learn's (``precision_recall_fscore_support``, ``multilabel_confusion_matrix``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import multilabel_confusion_matrix, precision_recall_fscore_support

from tagger.corpus import label_matrix  # noqa: F401 - the metric code's import path too

# Reliability diagrams and the expected calibration error use this many equal-width bins.
CALIBRATION_BINS = 10


def _round(value: float) -> float:
    return round(float(value), 4)


def multilabel_report(
    Y_true: np.ndarray, Y_pred: np.ndarray, theme_ids: Sequence[str]
) -> dict:
    """Per-theme precision/recall/F1/support plus micro and macro F1 and the exact-match ratio.

    Macro F1 averages over themes that have positives or predictions; a theme absent from both
    truth and predictions says nothing about the model and is left out (reported with
    ``support`` 0 and ``f1`` null).
    """
    Y_true = np.asarray(Y_true, dtype=bool)
    Y_pred = np.asarray(Y_pred, dtype=bool)
    n_labels = len(theme_ids)
    labels = list(range(n_labels))
    if len(Y_true):
        true, pred = Y_true, Y_pred
        if n_labels == 1:  # scikit-learn reads one column as a binary target and would
            # report its class 0 (the negatives); an all-zero second column keeps it
            # multi-label and changes no count
            true, pred = (np.hstack([m, np.zeros_like(m)]) for m in (Y_true, Y_pred))
        precision, recall, f1, support = precision_recall_fscore_support(
            true, pred, labels=labels, average=None, zero_division=0)
        micro_p, micro_r, micro_f1, _ = precision_recall_fscore_support(
            true, pred, average="micro", zero_division=0)
        confusion = multilabel_confusion_matrix(true, pred, labels=labels)
    else:
        precision = recall = f1 = support = np.zeros(n_labels)
        micro_p = micro_r = micro_f1 = 0.0
        confusion = np.zeros((n_labels, 2, 2), dtype=int)
    per_theme = {}
    defined_f1 = []
    for k, theme in enumerate(theme_ids):
        (_tn, fp), (fn, tp) = confusion[k]
        defined = tp + fp + fn > 0
        per_theme[theme] = {
            "precision": _round(precision[k]) if defined else None,
            "recall": _round(recall[k]) if defined else None,
            "f1": _round(f1[k]) if defined else None,
            "support": int(support[k]),
            "predicted": int(tp + fp),
        }
        if defined:
            defined_f1.append(f1[k])
    no_theme = ~Y_true.any(axis=1) if len(Y_true) else np.zeros(0, dtype=bool)
    false_positive_docs = no_theme & Y_pred.any(axis=1) if len(Y_true) else no_theme
    return {
        "n_documents": int(len(Y_true)),
        "micro_precision": _round(micro_p),
        "micro_recall": _round(micro_r),
        "micro_f1": _round(micro_f1),
        "macro_f1": _round(np.mean(defined_f1)) if defined_f1 else 0.0,
        "exact_match": _round(np.mean(np.all(Y_true == Y_pred, axis=1))) if len(Y_true) else 0.0,
        "no_theme_documents": int(no_theme.sum()),
        "no_theme_false_positive_rate": _round(
            false_positive_docs.sum() / no_theme.sum()) if no_theme.any() else 0.0,
        "per_theme": per_theme,
    }


def core_macro_f1(report: dict, core_themes: Sequence[str]) -> float | None:
    """Mean F1 over the themes users named first (those defined in ``report``)."""
    values = [report["per_theme"][t]["f1"] for t in core_themes
              if t in report["per_theme"] and report["per_theme"][t]["f1"] is not None]
    return _round(np.mean(values)) if values else None


def best_threshold_f1(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The highest F1 one threshold on ``scores`` reaches, and that threshold (tag every
    score >= it), chosen on the very papers it scores. Not a method: an upper bound on what
    any threshold rule could make of these scores, which tells a ranking problem (the
    bound is low) from a threshold problem (the bound is well above the F1 at 0.5)."""
    y_true = np.asarray(y_true).astype(bool)
    scores = np.asarray(scores, dtype=float)
    positives = int(y_true.sum())
    if not positives:
        return 0.0, float("inf")
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], np.cumsum(y_true[order])
    # a cut can only fall between different scores: the last index of each run of ties
    ends = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])
    f1 = 2 * hits[ends] / (ends + 1 + positives)
    best = int(np.argmax(f1))
    return float(f1[best]), float(ranked[ends[best]])


def reliability(y_true: np.ndarray, scores: np.ndarray,
                bins: int = CALIBRATION_BINS) -> list[dict]:
    """Equal-width score bins: how many scores fell in each, their mean, and how often the
    label was really there (a calibrated score matches its observed rate)."""
    y_true = np.asarray(y_true, dtype=float).ravel()
    scores = np.asarray(scores, dtype=float).ravel()
    which = np.minimum((scores * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        rows.append({"low": b / bins, "high": (b + 1) / bins, "count": count,
                     "mean_score": _round(scores[mask].mean()) if count else None,
                     "observed_rate": _round(y_true[mask].mean()) if count else None})
    return rows


def expected_calibration_error(y_true: np.ndarray, scores: np.ndarray,
                               bins: int = CALIBRATION_BINS) -> float:
    """ECE: the count-weighted mean gap between mean score and observed rate over bins."""
    rows = reliability(y_true, scores, bins)
    total = sum(row["count"] for row in rows)
    if not total:
        return 0.0
    gap = sum(row["count"] * abs(row["mean_score"] - row["observed_rate"])
              for row in rows if row["count"])
    return _round(gap / total)


def calibration_report(Y_true: np.ndarray, S: np.ndarray, theme_ids: Sequence[str]) -> dict:
    """ECE over every (paper, theme) score and per theme, and the pooled reliability table."""
    Y_true = np.asarray(Y_true)
    return {
        "bins": CALIBRATION_BINS,
        "ece": expected_calibration_error(Y_true, S),
        "per_theme_ece": {theme: expected_calibration_error(Y_true[:, k], S[:, k])
                          for k, theme in enumerate(theme_ids)},
        "reliability": reliability(Y_true, S),
    }


def confusion_summary(
    Y_true: np.ndarray, Y_pred: np.ndarray, theme_ids: Sequence[str], top: int = 3
) -> dict[str, list[dict]]:
    """For each theme, the gold themes of the documents it was wrongly predicted on
    (``[{"theme": other, "count": n}]``, most frequent first; ``"(none)"`` for no-theme papers).
    """
    Y_true = np.asarray(Y_true, dtype=bool)
    Y_pred = np.asarray(Y_pred, dtype=bool)
    summary = {}
    for k, theme in enumerate(theme_ids):
        wrong = Y_pred[:, k] & ~Y_true[:, k]
        counts: dict[str, int] = {}
        for row in Y_true[wrong]:
            others = [theme_ids[j] for j in np.flatnonzero(row)] or ["(none)"]
            for other in others:
                counts[other] = counts.get(other, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
        summary[theme] = [{"theme": other, "count": count} for other, count in ranked]
    return summary


