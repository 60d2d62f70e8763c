"""Multi-label metrics: the one module used by ``tagger evaluate``, cross-validation, threshold
tuning and tests, so every reported number is computed the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _f1(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


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
    per_theme = {}
    macro = []
    for k, theme in enumerate(theme_ids):
        tp = float(np.sum(Y_true[:, k] & Y_pred[:, k]))
        fp = float(np.sum(~Y_true[:, k] & Y_pred[:, k]))
        fn = float(np.sum(Y_true[:, k] & ~Y_pred[:, k]))
        precision, recall, f1 = _f1(tp, fp, fn)
        defined = tp + fp + fn > 0
        per_theme[theme] = {
            "precision": round(precision, 4) if defined else None,
            "recall": round(recall, 4) if defined else None,
            "f1": round(f1, 4) if defined else None,
            "support": int(tp + fn),
            "predicted": int(tp + fp),
        }
        if defined:
            macro.append(f1)
    tp = float(np.sum(Y_true & Y_pred))
    fp = float(np.sum(~Y_true & Y_pred))
    fn = float(np.sum(Y_true & ~Y_pred))
    micro_p, micro_r, micro_f1 = _f1(tp, fp, fn)
    no_theme = ~Y_true.any(axis=1)
    false_positive_docs = no_theme & Y_pred.any(axis=1)
    return {
        "n_documents": int(len(Y_true)),
        "micro_precision": round(micro_p, 4),
        "micro_recall": round(micro_r, 4),
        "micro_f1": round(micro_f1, 4),
        "macro_f1": round(float(np.mean(macro)) if macro else 0.0, 4),
        "exact_match": round(float(np.mean(np.all(Y_true == Y_pred, axis=1))), 4)
        if len(Y_true) else 0.0,
        "no_theme_documents": int(no_theme.sum()),
        "no_theme_false_positive_rate": round(
            float(false_positive_docs.sum() / no_theme.sum()) if no_theme.any() else 0.0, 4
        ),
        "per_theme": per_theme,
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


def label_matrix(tag_lists: Sequence[Sequence[str]], theme_ids: Sequence[str]) -> np.ndarray:
    """0/1 matrix ``(n_documents, n_themes)`` from per-document tag lists."""
    index = {theme: k for k, theme in enumerate(theme_ids)}
    Y = np.zeros((len(tag_lists), len(theme_ids)), dtype=np.int8)
    for row, tags in enumerate(tag_lists):
        for tag in tags:
            Y[row, index[tag]] = 1
    return Y
