"""``tagger evaluate --report DIR``: one precision/recall-vs-score PNG per theme with
positives and a reliability diagram, next to the text report with its calibration error."""

from __future__ import annotations

import numpy as np

from tagger.training.evaluate import precision_recall_curve
from tests.test_cli import run_tagger

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_precision_recall_curve_counts():
    y = np.array([1, 1, 0, 0])
    scores = np.array([0.9, 0.4, 0.6, 0.1])
    precision, recall = precision_recall_curve(y, scores, np.array([0.0, 0.5, 0.95]))
    np.testing.assert_allclose(precision, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(recall, [1.0, 0.5, 0.0])


def test_evaluate_report_writes_one_png_per_theme(small_model, labelled_corpus, tmp_path):
    report = tmp_path / "report"
    done = run_tagger("evaluate", "--data", str(labelled_corpus), "--model", str(small_model),
                      "--report", str(report))
    assert done.returncode == 0, done.stderr
    assert "micro-F1" in done.stdout
    assert "expected calibration error" in done.stdout
    names = sorted(p.name for p in report.iterdir())
    # The generated corpus has positives for exactly these four themes.
    assert names == ["automl.png", "causal-discovery.png", "reliability.png",
                     "state-space-models.png", "time-series.png"]
    for name in names:
        data = (report / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    assert "wrote 5 plots" in done.stderr


def test_evaluate_report_unwritable_dir_is_an_error(small_model, labelled_corpus, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run_tagger("evaluate", "--data", str(labelled_corpus), "--model", str(small_model),
                      "--report", str(blocker / "sub"))
    assert done.returncode == 1
    assert "cannot write the report" in done.stderr
