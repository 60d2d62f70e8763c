"""Evaluate a trained tagger on labelled documents and format the report."""

from __future__ import annotations

from collections.abc import Sequence

from tagger.corpus import Document
from tagger.tagging import Tagger
from training.fit import check_tags
from training.metrics import confusion_summary, label_matrix, multilabel_report


def evaluate_tagger(tagger: Tagger, documents: Sequence[Document]) -> dict:
    """Metrics of ``tagger``'s thresholded predictions against the documents' gold tags."""
    check_tags(documents, tagger.taxonomy)
    ids = tagger.taxonomy.ids
    Y_true = label_matrix([doc.tags or () for doc in documents], ids)
    probabilities = tagger.score([doc.text for doc in documents])
    Y_pred = probabilities >= tagger.thresholds
    report = multilabel_report(Y_true, Y_pred, ids)
    report["confusions"] = confusion_summary(Y_true, Y_pred, ids)
    report["model"] = {"name": tagger.name, "version": tagger.version}
    return report


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
