"""Committees of designs (training.experiments.averaging): the logit average, the decision rule
at 0.5, and the table read back from saved out-of-fold scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagger.taxonomy import load_taxonomy
from training.experiments import averaging


def test_the_committee_averages_logits_not_probabilities():
    a = np.array([[0.9, 0.2]])
    b = np.array([[0.4, 0.2]])
    committee = averaging.averaged([a, b])
    logit = np.log(np.array([0.9, 0.4]) / np.array([0.1, 0.6])).mean()
    assert committee[0, 0] == pytest.approx(1 / (1 + np.exp(-logit)))
    assert committee[0, 0] != pytest.approx(0.65)  # not the mean probability
    assert committee[0, 1] == pytest.approx(0.2)  # agreeing members keep their score
    assert averaging.averaged([a])[0, 0] == pytest.approx(0.9)


def test_rows_read_back_saved_scores_and_name_a_missing_run(tmp_path, capsys):
    ids = list(load_taxonomy().ids)
    core = ids.index("state-space-models")
    labels = np.zeros((4, len(ids)), dtype=int)
    labels[:2, core] = 1  # papers 0 and 1 are SSM papers; 2 and 3 have no theme
    sure = np.full(labels.shape, 0.1)
    sure[:2, core] = 0.95
    wrong = np.full(labels.shape, 0.1)
    wrong[2:, core] = 0.8  # tags the two no-theme papers instead
    for seed in (0, 1):
        averaging.save_scores(tmp_path, "sure", "arxiv", seed, sure, labels)
        averaging.save_scores(tmp_path, "wrong", "arxiv", seed, wrong, labels)
    alone = averaging.committee_row(tmp_path, ["sure"], "arxiv", [0, 1], ids)
    assert alone["mean"]["micro_f1"] == 1.0 and alone["mean"]["no_theme_fpr"] == 0.0
    both = averaging.committee_row(tmp_path, ["sure", "wrong"], "arxiv", [0, 1], ids)
    # mean logits: SSM papers logit(0.95)+logit(0.1) > 0, tagged; the no-theme papers
    # logit(0.1)+logit(0.8) < 0 -> not tagged
    assert both["mean"]["micro_f1"] == 1.0 and both["mean"]["no_theme_fpr"] == 0.0
    out = tmp_path / "rows.json"
    assert averaging.main([str(tmp_path), "--design", "sure", "--design", "wrong",
                           "--seed", "0", "--seed", "1", "--subsets", "--json",
                           str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 2 + 3  # header, rule, three subsets
    assert table[2].startswith("| sure |") or table[2].startswith("| sure + wrong |")
    assert table[-1].startswith("| wrong |")  # the worst, last
    assert [r["designs"] for r in json.loads(out.read_text())][-1] == ["wrong"]
    assert averaging.main([str(tmp_path), "--design", "sure", "--design", "missing"]) == 2
    assert "--design missing --protocol arxiv --seed 0" in capsys.readouterr().err
