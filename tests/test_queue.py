"""The review queue: strategies on constructed cases, and ``tagger queue add|next`` as real
processes against a SQLite store and a model trained on generated data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagger.review import strategies
from tests.conftest import make_labelled_corpus, write_jsonl

TAGGER = str(Path(sys.executable).parent / "tagger")


def test_uncertainty_prefers_papers_at_the_decision_point():
    scores = np.array([[0.99, 0.01],    # sure on both themes
                       [0.52, 0.02],    # at the boundary of theme 0
                       [0.80, 0.10],
                       [0.03, 0.45]])   # near the boundary of theme 1
    value = strategies.uncertainty(scores, np.ones(2))
    picked = strategies.select_batch(value, None, 4, seed=0)
    assert picked == [1, 3, 2, 0]


def test_rare_themes_weigh_more():
    weights = strategies.rarity_weights([400, 3], 2)
    assert weights[1] == 1.0 and weights[0] < 0.2
    scores = np.array([[0.5, 0.05], [0.05, 0.4]])
    # Paper 0 sits exactly on a common theme's boundary, paper 1 near a rare theme's.
    assert strategies.select_batch(strategies.uncertainty(scores, weights), None, 1) == [1]


def test_a_batch_skips_near_duplicates_while_other_papers_remain():
    titles = ["kalman filter", "kalman filter", "causal graph", "galaxy spectra"]
    abstracts = ["state space kalman filter latent state"] * 2 + [
        "causal discovery with a causal graph", "galaxy spectra from a telescope"]
    vectors = strategies.text_vectors(titles, abstracts)
    value = np.array([0.9, 0.9, 0.5, 0.1])
    for strategy in ("uncertainty", "diverse"):
        picked = strategies.select_batch(value, vectors, 2, seed=3, strategy=strategy)
        assert sorted(picked)[0] in (0, 1) and picked[1] == 2, strategy
    # With the batch as large as the pool the duplicate comes last, but still once.
    picked = strategies.select_batch(value, vectors, 4, seed=3)
    assert sorted(picked) == [0, 1, 2, 3] and set(picked[2:]) & {0, 1}


def test_disagreement_ranks_split_views_first():
    full = np.array([[0.6, 0.1], [0.9, 0.1], [0.55, 0.1]])
    abstract_only = np.array([[0.3, 0.1], [0.85, 0.1], [0.52, 0.1]])
    value = strategies.disagreement([full, abstract_only], np.ones(2))
    assert int(np.argmax(value)) == 0  # the views fall on both sides of 0.5


@pytest.mark.parametrize("strategy", strategies.STRATEGIES)
def test_seeded_order_is_reproducible_and_has_no_repeats(strategy):
    rng = np.random.default_rng(1)
    value = rng.random(50).round(1)  # many ties
    first = strategies.select_batch(value, None, 20, seed=5, strategy=strategy)
    assert first == strategies.select_batch(value, None, 20, seed=5, strategy=strategy)
    assert len(first) == len(set(first)) == 20


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([TAGGER, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_queue_add_and_next_from_the_cli(small_model, tmp_path):
    papers = make_labelled_corpus(n=40, seed=99)
    for record in papers:
        record.pop("tags")
    write_jsonl(tmp_path / "papers.jsonl", papers)
    (tmp_path / "broken.jsonl").write_text('{"id": "x"}\n{"id": "y", "abstract": "ok text"}\n')
    db = str(tmp_path / "labels.db")

    added = run("queue", "add", "papers.jsonl", "--db", db, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "queued 40 papers (40 new), 40 waiting" in added.stderr
    partial = run("queue", "add", "broken.jsonl", "papers.jsonl", "--db", db, cwd=tmp_path)
    assert partial.returncode == 3 and "broken.jsonl:1:" in partial.stderr
    assert "(1 new), 41 waiting" in partial.stderr

    def next_ids(*extra: str) -> list[dict]:
        result = run("queue", "next", "-n", "10", "--db", db, "--model", str(small_model),
                     *extra, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    batch = next_ids("--seed", "4")
    assert len(batch) == 10 and len({item["id"] for item in batch}) == 10
    assert batch == next_ids("--seed", "4")
    priorities = [item["priority"] for item in batch]
    assert priorities[0] == max(priorities)
    themed = next_ids("--theme", "automl", "--strategy", "disagreement")
    assert all(item["boundary"] for item in themed)
    unknown = run("queue", "next", "--theme", "nope", "--db", db, "--model", str(small_model),
                  cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown theme 'nope'" in unknown.stderr

    # A reviewed paper leaves the queue.
    from tagger.store import open_store

    store = open_store(db)
    store.record(None, [("automl", "reject")], "ann", paper_id=batch[0]["id"])
    store.close()
    assert batch[0]["id"] not in {item["id"] for item in next_ids("-n", "100")}
