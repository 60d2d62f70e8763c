"""Evaluate a trained tagger on labelled documents and format the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tagger.corpus import Document
from tagger.tagging import DECISION_SCORE, Tagger
from tagger.training.fit import check_tags
from tagger.training.metrics import (
    calibration_report,
    confusion_summary,
    label_matrix,
    multilabel_report,
)


def evaluate_tagger(
    tagger: Tagger, documents: Sequence[Document], report_dir: Path | None = None
) -> dict:
    """Metrics of ``tagger``'s tags (calibrated score >= 0.5) against the documents' gold
    tags, with the calibration error; with ``report_dir``, also a reliability diagram and one
    precision/recall-vs-score PNG per theme there."""
    check_tags(documents, tagger.taxonomy)
    ids = tagger.taxonomy.ids
    Y_true = label_matrix([doc.tags or () for doc in documents], ids)
    scores = tagger.score(documents)
    Y_pred = scores >= DECISION_SCORE
    report = multilabel_report(Y_true, Y_pred, ids)
    report["confusions"] = confusion_summary(Y_true, Y_pred, ids)
    report["calibration"] = calibration_report(Y_true, scores, ids)
    report["model"] = {"name": tagger.name, "version": tagger.version}
    if report_dir is not None:
        report_dir = Path(report_dir)
        report["plots"] = write_score_plots(Y_true, scores, ids, report_dir)
        report["plots"].append(write_reliability_diagram(report["calibration"], report_dir))
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


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def write_score_plots(
    Y_true: np.ndarray, scores: np.ndarray, theme_ids: Sequence[str], out_dir: Path,
) -> list[str]:
    """One ``THEME.png`` per theme with support: precision, recall and F1 against the score
    cut-off, with the decision point (0.5) marked. Returns the file names written."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = np.linspace(0.0, 1.0, 101)
    written = []
    for k, theme in enumerate(theme_ids):
        support = int(Y_true[:, k].sum())
        if support == 0:
            continue
        precision, recall = precision_recall_curve(Y_true[:, k], scores[:, k], grid)
        f1 = np.where(precision + recall > 0,
                      2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
        figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
        axes.plot(grid, precision, label="precision")
        axes.plot(grid, recall, label="recall")
        axes.plot(grid, f1, label="F1", linestyle="--")
        axes.axvline(DECISION_SCORE, color="grey", linestyle=":", label="decision point 0.5")
        axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="calibrated score cut-off", ylabel="value",
                 title=f"{theme} ({support} positives of {len(Y_true)})")
        axes.legend(loc="lower left")
        axes.grid(alpha=0.3)
        figure.tight_layout()
        name = f"{theme}.png"
        figure.savefig(out_dir / name)
        plt.close(figure)
        written.append(name)
    return written


def write_reliability_diagram(calibration: dict, out_dir: Path) -> str:
    """``reliability.png``: mean score against observed rate per score bin (pooled over all
    themes), with the diagonal a perfectly calibrated model would follow and the ECE."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [row for row in calibration["reliability"] if row["count"]]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5, 6), dpi=100, sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    top.plot([r["mean_score"] for r in rows], [r["observed_rate"] for r in rows], marker="o",
             label=f"model (ECE {calibration['ece']:.3f})")
    top.set(ylabel="observed rate of the theme", xlim=(0, 1), ylim=(0, 1),
            title="Reliability of theme scores")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    width = 1.0 / calibration["bins"]
    bottom.bar([r["low"] + width / 2 for r in rows], [r["count"] for r in rows],
               width=width * 0.9)
    bottom.set(xlabel="calibrated score", ylabel="scores", yscale="log")
    figure.tight_layout()
    figure.savefig(out_dir / "reliability.png")
    plt.close(figure)
    return "reliability.png"


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
    if "calibration" in report:
        lines.append(f"expected calibration error {report['calibration']['ece']:.3f} "
                     f"({report['calibration']['bins']} bins, every paper x theme score)")
    confused = {t: c for t, c in report.get("confusions", {}).items() if c}
    if confused:
        lines += ["", "false positives by gold theme (what each theme is confused with):"]
        for theme, others in confused.items():
            lines.append(f"  {theme:30} " + ", ".join(f"{o['theme']} ({o['count']})"
                                                      for o in others))
    return "\n".join(lines)
