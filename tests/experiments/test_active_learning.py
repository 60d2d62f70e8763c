"""The active-learning simulation (training/experiments/active_learning.py), run as its command
on a small generated corpus: every strategy gets a row, the figure and the JSON are written."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, make_labelled_corpus, write_jsonl


def test_the_simulation_runs_as_a_module_from_the_checkout(tmp_path):
    data = write_jsonl(tmp_path / "labelled.jsonl", make_labelled_corpus(160))
    result = subprocess.run(
        [sys.executable, "-m", "training.experiments.active_learning", "--data", str(data),
         "--budgets", "50", "--seeds", "0", "--initial", "30",
         "--strategies", "random", "uncertainty", "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| random |" in result.stdout and "| uncertainty |" in result.stdout, result.stdout
    written = json.loads((tmp_path / "out" / "active_learning.json").read_text())
    assert written and (tmp_path / "out" / "active_learning.png").stat().st_size > 1000
