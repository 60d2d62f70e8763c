"""Evaluate a trained tagger on labelled documents and format the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tagger.corpus import Document
from tagger.tagging import Tagger
from tagger.training.fit import check_tags
from tagger.training.metrics import confusion_summary, label_matrix, multilabel_report


def evaluate_tagger(
    tagger: Tagger, documents: Sequence[Document], report_dir: Path | None = None
) -> dict:
    """Metrics of ``tagger``'s thresholded predictions against the documents' gold tags;
    with ``report_dir``, also one precision/recall-vs-threshold PNG per theme there."""
    check_tags(documents, tagger.taxonomy)
    ids = tagger.taxonomy.ids
    Y_true = label_matrix([doc.tags or () for doc in documents], ids)
    probabilities = tagger.score([doc.text for doc in documents])
    Y_pred = probabilities >= tagger.thresholds
    report = multilabel_report(Y_true, Y_pred, ids)
    report["confusions"] = confusion_summary(Y_true, Y_pred, ids)
    report["model"] = {"name": tagger.name, "version": tagger.version}
    if report_dir is not None:
        report["plots"] = write_threshold_plots(Y_true, probabilities, tagger.thresholds, ids,
                                                Path(report_dir))
    return report


def precision_recall_curve(
    y_true: np.ndarray, scores: np.ndarray, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of ``scores >= t`` for every ``t`` in ``grid`` (precision 1 where
    nothing is predicted, the usual convention for a curve)."""
    y_true = np.asarray(y_true, dtype=bool)
    predicted = scores[None, :] >= grid[:, None]
    tp = (predicted & y_true).sum(axis=1)
    n_predicted = predicted.sum(axis=1)
    precision = np.where(n_predicted > 0, tp / np.maximum(n_predicted, 1), 1.0)
    recall = tp / max(int(y_true.sum()), 1)
    return precision, recall


def write_threshold_plots(
    Y_true: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray,
    theme_ids: Sequence[str], out_dir: Path,
) -> list[str]:
    """One ``THEME.png`` per theme with support: precision, recall and F1 against the
    threshold, and the model's own threshold marked. Returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    grid = np.linspace(0.0, 1.0, 101)
    written = []
    for k, theme in enumerate(theme_ids):
        support = int(Y_true[:, k].sum())
        if support == 0:
            continue
        precision, recall = precision_recall_curve(Y_true[:, k], probabilities[:, k], grid)
        f1 = np.where(precision + recall > 0,
                      2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
        figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
        axes.plot(grid, precision, label="precision")
        axes.plot(grid, recall, label="recall")
        axes.plot(grid, f1, label="F1", linestyle="--")
        axes.axvline(float(thresholds[k]), color="grey", linestyle=":",
                     label=f"threshold {float(thresholds[k]):.2f}")
        axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="threshold", ylabel="value",
                 title=f"{theme} ({support} positives of {len(Y_true)})")
        axes.legend(loc="lower left")
        axes.grid(alpha=0.3)
        figure.tight_layout()
        name = f"{theme}.png"
        figure.savefig(out_dir / name)
        plt.close(figure)
        written.append(name)
    return written


def _cell(value) -> str:
    return "    –" if value is None else f"{value:5.3f}"


def format_report(report: dict) -> str:
    """The report as an aligned text table with a confusion summary."""
    lines = [f"{'theme':32} {'prec':>5} {'rec':>5} {'F1':>5} {'supp':>5} {'pred':>5}"]
    for theme, row in report["per_theme"].items():
        lines.append(
            f"{theme:32} {_cell(row['precision'])} {_cell(row['recall'])} {_cell(row['f1'])} "
            f"{row['support']:5d} {row['predicted']:5d}"
        )
    lines += [
        "",
        f"micro-F1 {report['micro_f1']:.3f}  (precision {report['micro_precision']:.3f}, "
        f"recall {report['micro_recall']:.3f})",
        f"macro-F1 {report['macro_f1']:.3f}",
        f"exact match {report['exact_match']:.3f} over {report['n_documents']} documents",
        f"no-theme documents wrongly tagged: {report['no_theme_false_positive_rate']:.1%} "
        f"of {report['no_theme_documents']}",
    ]
    confused = {t: c for t, c in report.get("confusions", {}).items() if c}
    if confused:
        lines += ["", "false positives by gold theme (what each theme is confused with):"]
        for theme, others in confused.items():
            lines.append(f"  {theme:30} " + ", ".join(f"{o['theme']} ({o['count']})"
                                                      for o in others))
    return "\n".join(lines)
