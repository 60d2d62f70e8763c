"""Training: threshold selection on data where the answer is known, the metrics, a small model
trained end to end into a directory and loaded back, and determinism (same seed, same model).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from tagger.artifact import FORMAT_VERSION, load_model, read_manifest
from tagger.calibration import THRESHOLD_GRID, best_threshold, fit_slopes, tune_thresholds
from tagger.cli import main as tagger_main
from tagger.corpus import Document, read_documents
from tagger.taxonomy import load_taxonomy
from tagger.training.fit import check_tags
from tagger.training.metrics import (
    best_threshold_f1,
    expected_calibration_error,
    label_matrix,
    multilabel_report,
    reliability,
)

PROBES = [
    "Kalman filter and state space model with latent state for forecasting sensor data",
    "Neural architecture search over a search space with hyperparameter optimization",
    "Causal discovery of a causal graph by structure learning under conditional independence",
    "Galaxy spectra from the telescope on a lattice",
]


# --- thresholds -------------------------------------------------------------------------------

def test_best_threshold_finds_the_only_perfect_cut():
    # Perfect separation needs 0.60 < t <= 0.62: the grid holds 0.61 and 0.62, median 0.615.
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.62, 0.65, 0.8, 0.9, 0.1, 0.2, 0.3, 0.5, 0.6])
    assert best_threshold(y, p) == pytest.approx(0.615)


def test_best_threshold_trades_precision_for_recall_correctly():
    # Cutting at 0.35 catches all 4 positives with 1 false positive (F1 8/9); cutting at 0.5
    # loses 2 positives (F1 2/3); so the best cut lies in (0.3, 0.35].
    y = np.array([1, 1, 1, 1, 0, 0, 0])
    p = np.array([0.35, 0.4, 0.9, 0.95, 0.36, 0.3, 0.1])
    threshold = best_threshold(y, p)
    assert 0.30 < threshold <= 0.35


def test_too_few_positives_keep_the_default():
    Y = np.array([[1], [1], [0], [0], [0]])
    P = np.array([[0.9], [0.8], [0.1], [0.2], [0.3]])
    assert tune_thresholds(Y, P)[0] == 0.5
    assert tune_thresholds(Y, P, default=0.7)[0] == 0.7
    assert tune_thresholds(np.zeros((5, 1)), P)[0] == 0.5
    assert tune_thresholds(Y, P, min_positives=2)[0] != 0.5


def test_beta_below_one_leans_to_precision():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    p = np.array([0.3, 0.8, 0.85, 0.9, 0.32, 0.1, 0.05, 0.02])
    # Cut in (0.1, 0.3]: 4 hits, 1 false positive (F1 .889, F0.5 .833); cut in (0.32, 0.8]:
    # 3 hits, none false (F1 .857, F0.5 .938). F1 takes the first, F0.5 the second.
    assert 0.1 < best_threshold(y, p) <= 0.3
    assert 0.32 < best_threshold(y, p, beta=0.5) <= 0.8


def test_prior_strength_pulls_a_rare_theme_towards_the_pooled_threshold():
    rng = np.random.default_rng(0)
    Y = np.zeros((200, 2), dtype=int)
    Y[:60, 0] = 1  # a frequent theme
    Y[:4, 1] = 1  # a rare one, its positives scored low
    P = np.column_stack([np.where(Y[:, 0], 0.6, 0.2) + rng.uniform(-0.05, 0.05, 200),
                         np.where(Y[:, 1], 0.93, 0.1)])
    alone = tune_thresholds(Y, P)
    shrunk = tune_thresholds(Y, P, prior_strength=10.0)
    assert shrunk[0] == pytest.approx(alone[0], abs=0.05)  # 60 positives barely move
    assert shrunk[1] < alone[1]  # 4 positives lean on the pooled threshold


def test_slopes_fit_the_out_of_fold_labels():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, 2000)
    y = rng.uniform(size=2000) < 1 / (1 + np.exp(-z))  # true probability sigmoid(z)
    # Raw scores twice as confident as the truth: the fitted slope halves them back.
    P = 1 / (1 + np.exp(-2 * z))
    slope = fit_slopes(y[:, None], P[:, None], np.array([0.5]))[0]
    assert slope == pytest.approx(0.5, abs=0.08)


def test_tune_thresholds_is_per_column():
    y = np.array([[1, 1], [1, 0], [1, 0], [0, 0], [0, 0]])
    p = np.array([[0.9, 0.9], [0.8, 0.1], [0.7, 0.1], [0.2, 0.1], [0.1, 0.1]])
    thresholds = tune_thresholds(y, p)
    assert thresholds.shape == (2,)
    assert 0.2 < thresholds[0] <= 0.7  # any cut in (0.2, 0.7] is perfect for column 0
    assert thresholds[1] == 0.5  # column 1 has a single positive: the default stays
    assert THRESHOLD_GRID[0] <= thresholds[0] <= THRESHOLD_GRID[-1]


# --- metrics ----------------------------------------------------------------------------------

def test_multilabel_report_numbers():
    ids = ["a", "b", "c"]
    Y_true = label_matrix([["a"], ["a", "b"], [], ["b"]], ids)
    Y_pred = label_matrix([["a"], ["a"], ["a"], ["b"]], ids)
    report = multilabel_report(Y_true, Y_pred, ids)
    a, b, c = (report["per_theme"][k] for k in ids)
    assert (a["precision"], a["recall"], a["f1"], a["support"], a["predicted"]) == (
        0.6667, 1.0, 0.8, 2, 3)
    assert (b["precision"], b["recall"], b["f1"]) == (1.0, 0.5, 0.6667)
    assert c == {"precision": None, "recall": None, "f1": None, "support": 0, "predicted": 0}
    # micro: tp 3, fp 1, fn 1 -> P = R = F1 = 0.75; macro over a and b only.
    assert (report["micro_precision"], report["micro_recall"], report["micro_f1"]) == (
        0.75, 0.75, 0.75)
    assert report["macro_f1"] == round((0.8 + 2 / 3) / 2, 4)
    assert report["exact_match"] == 0.5
    assert report["no_theme_documents"] == 1
    assert report["no_theme_false_positive_rate"] == 1.0


def test_multilabel_report_of_a_one_theme_taxonomy_counts_the_theme():
    """scikit-learn reads a single label column as a binary target; the report must still
    count the theme, not its negatives."""
    report = multilabel_report(np.array([[1], [0], [0], [1]]), np.array([[1], [1], [0], [0]]),
                               ["a"])
    assert report["per_theme"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5,
                                        "support": 2, "predicted": 2}
    assert (report["micro_f1"], report["macro_f1"], report["exact_match"]) == (0.5, 0.5, 0.5)
    assert report["no_theme_false_positive_rate"] == 0.5


def test_best_threshold_f1_is_the_best_cut_between_different_scores():
    assert best_threshold_f1([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.2, 0.1]) == (0.8, 0.7)
    # tied scores cannot be cut apart: both are tagged or neither
    assert best_threshold_f1([1, 0], [0.5, 0.5]) == (2 / 3, 0.5)  # not 1.0
    assert best_threshold_f1([0, 0], [0.3, 0.2]) == (0.0, float("inf"))
    rng = np.random.default_rng(0)
    for _ in range(50):  # against trying every threshold
        y = rng.random(40) < 0.2
        s = np.round(rng.random(40) + 0.5 * y, 1)  # coarse: many ties
        if not y.any():
            continue
        brute = max(multilabel_report(y[:, None], (s >= t)[:, None], ["a"])[
            "per_theme"]["a"]["f1"] or 0.0 for t in np.unique(s))
        assert round(best_threshold_f1(y, s)[0], 4) == brute


def test_unknown_training_tags_are_refused_with_the_record_named():
    taxonomy = load_taxonomy()
    bad = Document(id="x", abstract="text", tags=("time-series", "bees"), source="f.jsonl",
                   line=7)
    with pytest.raises(ValueError, match=r"^f\.jsonl:7: tag\(s\) bees not in taxonomy"):
        check_tags([bad], taxonomy)


def test_calibration_error_and_reliability_bins():
    y = np.array([0, 0, 1, 1])
    assert expected_calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    assert expected_calibration_error(y, np.array([1.0, 1.0, 0.0, 0.0])) == 1.0
    rows = reliability(np.array([0, 1, 1, 0]), np.array([0.05, 0.95, 0.91, 0.5]), bins=10)
    assert [r["count"] for r in rows] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert rows[9]["observed_rate"] == 1.0 and rows[9]["mean_score"] == 0.93


# --- end to end -------------------------------------------------------------------------------

def test_small_model_manifest_has_every_field(small_model):
    manifest = read_manifest(small_model)
    taxonomy = load_taxonomy()
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["name"] == "small"
    assert manifest["model_version"]
    assert manifest["created"].endswith("+00:00")
    assert {"python", "tagger", "scikit-learn", "spacy", "numpy"} <= set(
        manifest["library_versions"])
    assert [t["id"] for t in manifest["taxonomy"]["themes"]] == taxonomy.ids
    assert manifest["taxonomy"]["fingerprint"] == taxonomy.fingerprint()
    assert list(manifest["thresholds"]) == taxonomy.ids
    assert all(0 < t < 1 for t in manifest["thresholds"].values())
    assert manifest["calibration"]["decision_score"] == 0.5
    assert list(manifest["calibration"]["slopes"]) == taxonomy.ids
    assert 0 <= manifest["cv_calibration"]["ece"] <= 1
    assert manifest["training"]["cv_folds"] == 3 and manifest["training"]["seed"] == 0
    assert manifest["training"]["n_documents"] == 160
    metrics = manifest["cv_metrics"]
    assert 0 <= metrics["micro_f1"] <= 1 and 0 <= metrics["macro_f1"] <= 1
    assert set(metrics["per_theme"]) == set(taxonomy.ids)
    trained = metrics["per_theme"]["time-series"]
    assert {"precision", "recall", "f1", "support"} <= set(trained) and trained["support"] > 0
    assert set(manifest["files"]) == {"model.joblib", "MODEL_CARD.md"}
    card = (small_model / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.startswith("# Model card: small ")
    assert "| time-series |" in card


@pytest.fixture(scope="module")
def cli_trained(tmp_path_factory, labelled_corpus):
    """The one extra training of this module: ``tagger train`` (in process) with the same data,
    folds and seed as the session's ``small_model``."""
    out = tmp_path_factory.mktemp("train") / "again"
    status = tagger_main(["train", "--data", str(labelled_corpus), "--out", str(out),
                          "--cv", "3", "--seed", "0", "--name", "again"])
    assert status == 0
    return out


def test_train_writes_training_data_facts_and_loads_back(cli_trained, labelled_corpus):
    manifest = read_manifest(cli_trained)
    digest = hashlib.sha256(labelled_corpus.read_bytes()).hexdigest()
    assert manifest["training_data"] == [
        {"file": labelled_corpus.name, "records": 160, "sha256": digest}
    ]
    assert manifest["name"] == "again"
    tagger = load_model(cli_trained)
    assert tagger.manifest == manifest
    results = tagger.tag([Document(id=str(i), abstract=text) for i, text in enumerate(PROBES)])
    # The first probe names state space models *and* forecasting sensor data: both themes are
    # right, and which one scores first on this synthetic corpus is a coin flip.
    tags = [[tag["theme"] for tag in result["tags"]] for result in results]
    assert "state-space-models" in tags[0][:2]
    assert [t[:1] for t in tags[1:]] == [["automl"], ["causal-discovery"], []]


def test_same_seed_gives_the_same_model(cli_trained, small_model):
    first, second = load_model(small_model), load_model(cli_trained)
    probes = [Document(id=str(i), abstract=text) for i, text in enumerate(PROBES)]
    np.testing.assert_array_equal(first.estimator.thresholds_, second.estimator.thresholds_)
    np.testing.assert_array_equal(first.score(probes), second.score(probes))
    one, two = read_manifest(small_model), read_manifest(cli_trained)
    assert one["cv_metrics"] == two["cv_metrics"]
    assert one["thresholds"] == two["thresholds"]
    assert json.dumps(one["design"]) == json.dumps(two["design"])


def test_scores_are_probabilities(small_model, labelled_corpus):
    tagger = load_model(small_model)
    documents = list(read_documents(labelled_corpus))[:40]
    scores = tagger.score(documents)
    assert scores.shape == (40, 19)
    assert np.all((scores >= 0) & (scores <= 1))
