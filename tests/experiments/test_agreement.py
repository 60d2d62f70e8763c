"""Annotator agreement against a gold file: counts by hand on a three-paper fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagger.taxonomy import load_taxonomy
from training.experiments.agreement import agreement, main

THEMES = list(load_taxonomy().ids)


def test_agreement_counts_against_gold():
    gold = {"a": ("automl",), "b": ("causal-discovery", "causal-inference"), "c": ()}
    labels = {"a": ("automl",), "b": ("causal-inference", "time-series")}
    result = agreement(gold, labels, THEMES)
    # labels give 3 tags, 2 in gold (automl, causal-inference); gold has 3 on a and b
    assert result["n_documents"] == 2
    assert result["micro_precision"] == pytest.approx(2 / 3, abs=1e-3)
    assert result["micro_recall"] == pytest.approx(2 / 3, abs=1e-3)
    assert result["per_theme"]["causal-discovery"] == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 0}
    assert result["differences"] == [{"id": "b", "labels": ["causal-inference", "time-series"],
                                      "gold": ["causal-discovery", "causal-inference"]}]
    with pytest.raises(ValueError, match="not in the gold file, e.g. z"):
        agreement(gold, {"z": ()}, THEMES)


def test_command_reads_a_gold_file_and_an_id_table(tmp_path: Path, capsys):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": i, "title": "t", "abstract": "an abstract",
                                        "tags": tags}) + "\n"
                            for i, tags in [("a", ["automl"]), ("b", [])]))
    labels = tmp_path / "mine.jsonl"
    labels.write_text('{"id": "a", "tags": ["automl"]}\n{"id": "b", "tags": ["automl"]}\n')
    assert main(["--gold", str(gold), "--labels", str(labels)]) == 0
    out = capsys.readouterr().out
    assert "2 papers: micro precision 0.50, recall 1.00, F1 0.67" in out
    assert "b: labels ['automl'] gold []" in out
    labels.write_text('{"id": "x", "tags": []}\n')
    assert main(["--gold", str(gold), "--labels", str(labels)]) == 1
    assert "not in the gold file" in capsys.readouterr().err
