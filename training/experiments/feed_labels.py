"""Designs measured on all the labels (seed + arXiv + feed), under three protocols (issue 22).

* ``arxiv``: 5-fold CV on ``arxiv_train`` (the realistic stream); the seed set and every feed
  label join every training fold (feed labels at the design's ``feed_weight``).
* ``feed``: 5-fold CV on ``feed_train``; seed + arXiv join every training fold. Reported on all
  feed papers and on the ``random`` part alone (the only part whose theme rates and no-theme
  false-positive rate say anything about the stream).
* ``time``: train on seed + arXiv + the feed labels before 2026-01, score the feed labels of
  2026-01..04 (all, and the random part).

Every model tunes its thresholds and calibration inside its own ``fit`` on its training rows
only (nested), as ``tagger train`` does. Usage, from the checkout root::

    python -m training.experiments.feed_labels --list
    python -m training.experiments.feed_labels --design v5-feed0.5 --protocol arxiv --seed 0
    python -m training.experiments.feed_labels --design v6 --out build/experiments/v6
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold

from tagger.corpus import Document, read_documents
from tagger.estimator import build_model
from tagger.fields import UnlabelledPapers
from tagger.representations import FeedRepresentation
from tagger.taxonomy import Taxonomy, load_taxonomy
from tagger.training.fit import ExtraData, fields_of, joined, out_of_fold_scores
from tagger.training.metrics import (
    best_threshold_f1,
    calibration_report,
    label_matrix,
    multilabel_report,
)
from training.experiments.designs import CORE_THEMES, design_summary, threshold_ceiling

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SHARED = ROOT.parent / "shared"
CATEGORIES = ROOT / "tagger" / "data" / "category_representation.npz"
# the feed labels of this month on are the time split's test set
TIME_SPLIT_START = "2026-01"
# The taxonomy every design starts from: the packaged one of v5, frozen here so that rows stay
# reproducible after the packaged taxonomy changes (v6 adds SSM_PHRASES to it).
TAXONOMY = Path(__file__).resolve().parent / "taxonomy-v5.toml"


@dataclass(frozen=True)
class Design:
    """``build_model`` params, the feed labels' sample weight and the representation block."""

    description: str
    params: dict = field(default_factory=dict)
    feed_weight: float = 0.5
    representation: Path | None = CATEGORIES
    # "flat": every feed row weighs feed_weight; "prior": each feed row's weight is scaled so
    # the feed's labelled theme rates match the random part's (undoes the enrichment)
    weighting: str = "flat"
    # "all": thresholds are tuned on every training row at its sample weight; "stream": the
    # selected (non-random) feed rows get tuning weight 0, the random ones 1
    tuning: str = "all"
    # extra taxonomy phrases per theme id (a design may try them before the taxonomy has them)
    extra_phrases: dict = field(default_factory=dict)
    # AltThemeModel settings (training/experiments/alt_models.py) instead of the shipped
    # classifier, on the same features; None: the shipped estimator
    alt: dict | None = None
    # the random (stream-like) feed rows' weight relative to the selected ones
    random_weight: float = 1.0
    # factor on the tuning weight of every training paper without a theme: the training mix
    # (24% without a theme) has far fewer of them than the arXiv stream (55%)
    none_tuning: float = 1.0


V5 = {"features__representation_weight": 1.0}
# Classical state space work the guidelines tag (Kalman filtering, hidden Markov and latent
# state dynamics, state estimation framed by a state) beyond the deep SSM layers.
SSM_PHRASES = ("kalman", "unscented kalman filter", "ensemble kalman filter", "kalman gain",
               "bayesian filtering", "bayesian filter", "state estimation", "state estimator",
               "state observer", "data assimilation", "hidden markov model", "hidden markov",
               "hmm", "sequential monte carlo", "particle smoother", "latent state",
               "state-space representation", "state space representation",
               "state transition model", "linear time-invariant system", "filtering and smoothing")
DESIGNS: dict[str, Design] = {
    "v5-nofeed": Design("the shipped v5 design (default + arXiv-category block) trained without "
                        "the feed labels", V5, feed_weight=0.0),
    "v5-feed0.5": Design("v5 with the feed labels at weight 0.5", V5, feed_weight=0.5),
    "v5-feed1": Design("v5 with the feed labels at weight 1.0", V5, feed_weight=1.0),
    "v5-feed0.3": Design("v5 with the feed labels at weight 0.3", V5, feed_weight=0.3),
    "v5-feed0.5-st": Design("v5, feed labels at weight 0.5, thresholds tuned on stream-like rows "
                            "only (selected feed rows tuning weight 0)", V5, 0.5, tuning="stream"),
    "v5-feed1-st": Design("v5, feed labels at weight 1.0, thresholds tuned on stream-like rows",
                          V5, 1.0, tuning="stream"),
    "v5-feed1-prior": Design("v5, feed labels at weight 1.0 scaled to the random part's theme "
                             "rates (prior-corrected)", V5, 1.0, weighting="prior"),
    "v5-feed1-prior-st": Design("v5-feed1-prior with thresholds tuned on stream-like rows", V5,
                                1.0, weighting="prior", tuning="stream"),
    "v5-feed1-st-C": Design("v5-feed1-st, each theme picks C from (2, 8, 32) inside fit",
                            V5 | {"classifier__C_grid": (2.0, 8.0, 32.0)}, 1.0, tuning="stream"),
    "v5-feed1-st-b1": Design("v5-feed1-st, thresholds maximise F1 (F0.8 shipped)",
                             V5 | {"classifier__beta": 1.0}, 1.0, tuning="stream"),
    "v5-feed1-ssm": Design("v5-feed1 with classical state-space phrases in the taxonomy",
                           V5, 1.0, extra_phrases={"state-space-models": SSM_PHRASES}),
    "v5-feed1-b0.6": Design("v5-feed1, thresholds maximise F0.6 (F0.8 shipped): precision "
                            "for the no-theme stream", V5 | {"classifier__beta": 0.6}, 1.0),
    "v5-feed1-C4": Design("v5-feed1, per-theme regressions with C=4 (8 shipped)",
                          V5 | {"classifier__C": 4.0}, 1.0),
    "v5-feed1-C16": Design("v5-feed1, per-theme regressions with C=16 (8 shipped)",
                           V5 | {"classifier__C": 16.0}, 1.0),
    "v5-feed1-prior20": Design("v5-feed1, thresholds shrunk with the weight of 20 positives "
                               "(10 shipped)", V5 | {"classifier__prior_strength": 20.0}, 1.0),
    "v5-feed1-rand3": Design("v5-feed1, the random feed rows (the stream's own mix, 22% "
                             "without a theme) at weight 3", V5, 1.0, random_weight=3.0),
    "v5-feed1-ssm-rand3": Design("v5-feed1-ssm with the random feed rows at weight 3", V5, 1.0,
                                 extra_phrases={"state-space-models": SSM_PHRASES},
                                 random_weight=3.0),
    "v6-none2.5": Design("v5-feed1-ssm, papers without a theme count 2.5 times when "
                         "thresholds are tuned (their share in the tuning rows: about the "
                         "arXiv stream's)", V5, 1.0,
                         extra_phrases={"state-space-models": SSM_PHRASES}, none_tuning=2.5),
    "v6-none4": Design("as v6-none2.5, no-theme papers count 4 times in tuning", V5, 1.0,
                       extra_phrases={"state-space-models": SSM_PHRASES}, none_tuning=4.0),
    "v5-feed1-st-svm": Design("v5-feed1-st features, a linear SVM per theme (squared hinge, "
                              "class-balanced) instead of the logistic regression", V5, 1.0,
                              tuning="stream", alt={"learner": "svm", "C": 8.0}),
    "v5-feed1-st-alt-lr": Design("v5-feed1-st through the alternative-learner harness with "
                                 "its logistic regression (checks the harness against v5)", V5,
                                 1.0, tuning="stream", alt={"learner": "logistic"}),
    "v5-feed1-st-mlp": Design("v5-feed1-st features, one MLP (128 ReLU units, 19 sigmoid "
                              "outputs) for all themes; feed rows at weight 1 (no weights)",
                              V5, 1.0, tuning="stream", alt={"learner": "mlp", "hidden": 128}),
    "v5-feed1-st-char": Design("v5-feed1-st + a character 3-5-gram TF-IDF block (weight 0.5)",
                               V5, 1.0, tuning="stream",
                               alt={"learner": "logistic", "char_weight": 0.5}),
    "v5-feed1-st-stack": Design("v5-feed1-st + a second stage: per theme a logistic regression "
                                "over all 19 themes' cross-fitted logits (label dependencies)",
                                V5, 1.0, tuning="stream", alt={"learner": "logistic",
                                                               "stack": True}),
}


@dataclass
class LabelSets:
    seed: list[Document]
    arxiv: list[Document]
    feed: list[Document]
    random_ids: set[str]
    unlabelled: list[Document]


def load_label_sets(shared: Path) -> LabelSets:
    labels = shared / "corpus" / "labels"
    seed = list(read_documents(labels / "seed.jsonl", labelled=True))
    arxiv = list(read_documents(labels / "arxiv_train.jsonl", labelled=True))
    feed = list(read_documents(labels / "feed_train.jsonl", labelled=True))
    random_ids = set()
    with open(labels / "feed_train.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("selection") == "random":
                random_ids.add(record["id"])
    unlabelled = list(read_documents(shared / "corpus" / "unlabelled.jsonl",
                                     on_error=lambda error: None))
    return LabelSets(seed, arxiv, feed, random_ids, unlabelled)


def feed_weights(design: Design, feed: Sequence[Document], random_ids: set[str],
                 ids: Sequence[str]) -> np.ndarray:
    """Sample weights of the feed rows under the design's weighting."""
    weights = np.full(len(feed), design.feed_weight)
    if design.random_weight != 1.0:
        weights *= np.array([design.random_weight if d.id in random_ids else 1.0 for d in feed])
    if design.weighting == "flat" or not len(feed):
        return weights
    Y = label_matrix([d.tags for d in feed], ids).astype(bool)
    is_random = np.array([d.id in random_ids for d in feed])
    # a paper's weight: the smallest ratio (stream rate / sample rate) over its themes, so a
    # paper of an over-sampled theme counts as often as the stream would show it
    stream = (Y[is_random].sum(0) + 1) / (is_random.sum() + 2)
    sample = (Y.sum(0) + 1) / (len(Y) + 2)
    ratio = np.clip(stream / sample, 0.05, 1.0)
    for row in range(len(feed)):
        if Y[row].any():
            weights[row] *= float(ratio[Y[row]].min())
    return weights


def tuning_weights(design: Design, feed: Sequence[Document], random_ids: set[str],
                   weights: np.ndarray) -> np.ndarray:
    """The feed rows' weights in threshold tuning under the design's rule."""
    if design.tuning == "all":
        return weights
    if design.tuning == "stream":
        return np.array([1.0 if d.id in random_ids else 0.0 for d in feed])
    raise ValueError(f"unknown tuning rule {design.tuning!r}")


def build(design: Design, taxonomy: Taxonomy, seed: int):
    params = dict(design.params)
    if design.extra_phrases:
        params["features__theme_phrases"] = tuple(
            tuple(t.phrases) + tuple(design.extra_phrases.get(t.id, ())) for t in taxonomy.themes)
    if design.representation is not None:
        params["features__representation"] = FeedRepresentation.load(design.representation)
    model = build_model(taxonomy, classifier__random_state=seed, **params)
    if design.alt is None:
        return model
    from training.experiments.alt_models import AltThemeModel

    return AltThemeModel(features=model.features, random_state=seed, **design.alt)


def summary(Y: np.ndarray, S: np.ndarray, ids: Sequence[str]) -> dict:
    """The design tables' figures (:func:`design_summary`) of scores ``S`` against ``Y``, with
    the calibration error, the core themes' threshold ceiling and each theme's recall."""
    report = multilabel_report(Y, S >= 0.5, ids)
    return {"n": int(len(Y)), **design_summary(report),
            "ece": calibration_report(Y, S, ids)["ece"],
            "core_ceiling": threshold_ceiling(Y, S, list(ids))["core_macro_f1"],
            "per_theme_recall": {t: r["recall"] for t, r in report["per_theme"].items()}}


def _extra(docs: Sequence[Document], weights: np.ndarray, ids: Sequence[str],
           tuning: np.ndarray | None = None) -> ExtraData:
    return ExtraData(fields_of(docs), label_matrix([d.tags for d in docs], ids), weights,
                     tuning)


def run(name: str, design: Design, sets: LabelSets, protocols: Sequence[str],
        seed: int = 0, scores_dir: Path | None = None) -> dict:
    taxonomy = load_taxonomy(TAXONOMY)
    ids = list(taxonomy.ids)
    model = build(design, taxonomy, seed)
    pool = UnlabelledPapers(fields_of(sets.unlabelled))
    fw = feed_weights(design, sets.feed, sets.random_ids, ids)
    keep = fw > 0
    feed = [d for d, k in zip(sets.feed, keep, strict=True) if k]
    fw = fw[keep]
    ft = tuning_weights(design, feed, sets.random_ids, fw)
    def nt(docs: Sequence[Document], tuning: np.ndarray) -> np.ndarray:
        """``tuning`` with the no-theme papers' entries scaled by the design's factor."""
        none = np.array([not d.tags for d in docs], dtype=bool)
        return np.where(none, tuning * design.none_tuning, tuning)

    result: dict = {"design": name, "description": design.description, "seed": seed,
                    "feed_weight": design.feed_weight, "weighting": design.weighting,
                    "params": {k: v for k, v in design.params.items()}}
    for protocol in protocols:
        started = time.perf_counter()
        if protocol == "arxiv":
            scored = sets.arxiv
            splits = list(KFold(5, shuffle=True, random_state=seed).split(scored))
            extra = joined([_extra(sets.seed, np.ones(len(sets.seed)), ids,
                                   nt(sets.seed, np.ones(len(sets.seed)))),
                            _extra(feed, fw, ids, nt(feed, ft))])
        elif protocol == "feed":
            scored = sets.feed  # every feed paper is scored, whatever its training weight
            splits = list(KFold(5, shuffle=True, random_state=seed).split(scored))
            gold = [*sets.seed, *sets.arxiv]
            extra = _extra(gold, np.ones(len(gold)), ids, nt(gold, np.ones(len(gold))))
        elif protocol == "time":
            scored = [d for d in sets.feed if d.month >= TIME_SPLIT_START]
            past = [k for k, d in enumerate(feed) if d.month < TIME_SPLIT_START]
            train_docs = [*sets.seed, *sets.arxiv, *(feed[k] for k in past)]
            n_gold = len(sets.seed) + len(sets.arxiv)
            train_w = np.r_[np.ones(n_gold), fw[past]]
            train_t = nt(train_docs, np.r_[np.ones(n_gold), ft[past]])
            splits = None
        else:
            raise ValueError(f"unknown protocol {protocol!r}")
        Y = label_matrix([d.tags for d in scored], ids)
        X = fields_of(scored)
        if protocol == "time":
            fitted = model.fit(fields_of(train_docs),
                               label_matrix([d.tags for d in train_docs], ids),
                               sample_weight=train_w, unlabelled=pool, tuning_weight=train_t)
            S = fitted.predict_proba(X)
        elif protocol == "feed":
            # feed rows train at the design's weight: the scored rows' own weights
            w = feed_weights(design, sets.feed, sets.random_ids, ids)
            if design.feed_weight == 0:
                w = np.full(len(sets.feed), 1e-9)  # never trained on (weight ~0), still scored
            t = nt(sets.feed, tuning_weights(design, sets.feed, sets.random_ids, w))
            S = out_of_fold_scores(model, X, Y, splits, weights=w, extra=extra, unlabelled=pool,
                                   tuning_weights=t)
        else:
            S = out_of_fold_scores(model, X, Y, splits, extra=extra, unlabelled=pool,
                                   tuning_weights=nt(scored, np.ones(len(scored))))
        entry = {"all": summary(Y, S, ids)}
        if protocol in ("feed", "time"):
            rand = np.array([d.id in sets.random_ids for d in scored])
            entry["random"] = summary(Y[rand], S[rand], ids)
        entry["seconds"] = round(time.perf_counter() - started)
        result[protocol] = entry
        if scores_dir is not None:
            scores_dir.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(scores_dir / f"{name}-{protocol}-s{seed}.npz", S=S, Y=Y,
                                ids=np.array([d.id for d in scored]))
        print(f"{name} {protocol} seed {seed}: {row(entry)}", file=sys.stderr, flush=True)
    return result


# A state-space-models positive is "deep" when its text names a deep SSM layer; the rest are
# the classical reading (Kalman / particle filtering, HMMs, latent state dynamics, control).
DEEP_SSM = re.compile(r"mamba|\bs4\b|\bs5\b|hippo|selective (state|scan)|structured state|"
                      r"\bssms?\b|linear recurren|rwkv|state[- ]space (layer|block|backbone)",
                      re.IGNORECASE)


def ssm_recall(sets: LabelSets, scores_dir: Path, names: Sequence[str]) -> list[str]:
    """Per saved score file, state-space-models recall on its deep and classical positives."""
    text = {d.id: f"{d.title} {d.abstract}" for d in [*sets.seed, *sets.arxiv, *sets.feed]}
    k = list(load_taxonomy(TAXONOMY).ids).index("state-space-models")
    lines = []
    for name in names:
        for path in sorted(scores_dir.glob(f"{name}-*.npz")):
            if not re.fullmatch(r"-(arxiv|feed|time)-s\d+\.npz", path.name[len(name):]):
                continue
            z = np.load(path)
            hit = z["S"][:, k] >= 0.5
            pos = z["Y"][:, k] == 1
            deep = np.array([bool(DEEP_SSM.search(text[i])) for i in z["ids"]])
            parts = []
            for label, mask in (("deep", pos & deep), ("classical", pos & ~deep)):
                n = int(mask.sum())
                parts.append(f"{label} {hit[mask].mean():.2f} of {n}" if n else f"{label} -")
            lines.append(f"{path.stem}: SSM recall " + ", ".join(parts))
    return lines


def learning_curve(name: str, design: Design, sets: LabelSets, fractions: Sequence[float],
                   seed: int = 0) -> list[dict]:
    """Feed protocol with each training fold's feed papers cut to a fraction (seed + arXiv
    always train): per core theme the training positives and the F1 on the held-out feed
    papers, with the threshold ceiling (what the ranking allows)."""
    taxonomy = load_taxonomy(TAXONOMY)
    ids = list(taxonomy.ids)
    model = build(design, taxonomy, seed)
    pool = UnlabelledPapers(fields_of(sets.unlabelled))
    feed = sets.feed
    X, Y = fields_of(feed), label_matrix([d.tags for d in feed], ids)
    w = feed_weights(design, feed, sets.random_ids, ids)
    t = tuning_weights(design, feed, sets.random_ids, w)
    gold = [*sets.seed, *sets.arxiv]
    extra = _extra(gold, np.ones(len(gold)), ids)
    gold_pos = label_matrix([d.tags for d in gold], ids).sum(0)
    rows = []
    rng = np.random.default_rng(seed)
    for fraction in fractions:
        splits, positives = [], []
        for train, test in KFold(5, shuffle=True, random_state=seed).split(feed):
            kept = np.sort(rng.permutation(train)[: int(round(len(train) * fraction))])
            splits.append((kept, test))
            positives.append(gold_pos + Y[kept].sum(0) * design.feed_weight)
        S = out_of_fold_scores(model, X, Y, splits, weights=w, extra=extra, unlabelled=pool,
                               tuning_weights=t)
        entry = summary(Y, S, ids)
        pos = np.mean(positives, axis=0)
        rows.append({"design": name, "fraction": fraction, "micro_f1": entry["micro_f1"],
                     "core_macro_f1": entry["core_macro_f1"],
                     "themes": {th: {"train_positives": round(float(pos[ids.index(th)])),
                                     "f1": entry["per_theme_f1"][th],
                                     "ceiling": round(best_threshold_f1(
                                         Y[:, ids.index(th)], S[:, ids.index(th)])[0], 4)}
                                for th in CORE_THEMES}})
        r = rows[-1]
        print(f"{name} feed fraction {fraction}: micro {r['micro_f1']:.3f} core "
              f"{r['core_macro_f1']:.3f} " + " ".join(
                  f"{th[:8]} {v['train_positives']}:{v['f1']:.2f}/{v['ceiling']:.2f}"
                  for th, v in r["themes"].items()), file=sys.stderr, flush=True)
    return rows


def table(results_dir: Path, names: Sequence[str] = ()) -> str:
    """The markdown table of EXPERIMENTS.md from the ``--out`` JSON files: the arXiv protocol
    averaged over every seed run, the time split and the feed protocol (with its random part)
    from seed 0."""
    runs: dict[str, list[dict]] = {}
    for path in sorted(results_dir.glob("*-s*.json")):
        result = json.loads(path.read_text())
        if names and result["design"] not in names:
            continue
        runs.setdefault(result["design"], []).append(result)
    lines = ["| design | arXiv micro-F1 | arXiv core-five | arXiv no-theme FPR | seeds | "
             "time micro-F1 | time core-five | time random-part FPR | feed micro-F1 | "
             "feed core-five | feed random-part FPR |", "|---|" + "---:|" * 10]

    def cell(values: list[float], fmt: str) -> str:
        return format(float(np.mean(values)), fmt) if values else "–"

    for name in names or sorted(runs):
        results = runs.get(name, [])
        arxiv = [r["arxiv"]["all"] for r in results if "arxiv" in r]
        first = next((r for r in results if r["seed"] == 0), {})
        time_all, time_rand = (first["time"]["all"], first["time"]["random"]) \
            if "time" in first else (None, None)
        feed_all, feed_rand = (first["feed"]["all"], first["feed"]["random"]) \
            if "feed" in first else (None, None)
        lines.append(" | ".join([
            f"| {name}", cell([a["micro_f1"] for a in arxiv], ".3f"),
            cell([a["core_macro_f1"] for a in arxiv], ".3f"),
            cell([a["no_theme_fpr"] for a in arxiv], ".1%"), str(len(arxiv)),
            cell([time_all["micro_f1"]] if time_all else [], ".3f"),
            cell([time_all["core_macro_f1"]] if time_all else [], ".3f"),
            cell([time_rand["no_theme_fpr"]] if time_rand else [], ".1%"),
            cell([feed_all["micro_f1"]] if feed_all else [], ".3f"),
            cell([feed_all["core_macro_f1"]] if feed_all else [], ".3f"),
            cell([feed_rand["no_theme_fpr"]] if feed_rand else [], ".1%")]) + " |")
    return "\n".join(lines)


def ensemble(scores_dir: Path, names: Sequence[str], sets: LabelSets) -> list[str]:
    """Average the designs' saved out-of-fold scores on the logit scale (every protocol and
    seed all of them have) and summarise like a design: an ensemble of calibrated models is
    still tagged at 0.5."""
    from tagger.calibration import logit, sigmoid

    ids = list(load_taxonomy(TAXONOMY).ids)
    lines = []
    first = sorted(scores_dir.glob(f"{names[0]}-*-s*.npz"))
    for path in first:
        suffix = path.name[len(names[0]):]
        if not re.fullmatch(r"-(arxiv|feed|time)-s\d+\.npz", suffix):
            continue  # another design whose name starts with this one's
        paths = [scores_dir / f"{name}{suffix}" for name in names]
        if not all(p.exists() for p in paths):
            continue
        parts = [np.load(p) for p in paths]
        S = sigmoid(np.mean([logit(z["S"]) for z in parts], axis=0))
        Y, pid = parts[0]["Y"], parts[0]["ids"]
        entry = {"all": summary(Y, S, ids), "seconds": 0}
        if "-arxiv-" not in suffix:
            rand = np.array([i in sets.random_ids for i in pid])
            entry["random"] = summary(Y[rand], S[rand], ids)
        lines.append(f"{'+'.join(names)}{suffix[:-4]}: {row(entry)}")
    return lines


def row(entry: dict) -> str:
    a = entry["all"]
    text = (f"micro {a['micro_f1']:.3f} macro {a['macro_f1']:.3f} core {a['core_macro_f1']:.3f} "
            f"(ceiling {a['core_ceiling']:.3f}) FPR {a['no_theme_fpr']:.1%} "
            f"core: " + " ".join(f"{a['per_theme_f1'][t] or 0:.2f}" for t in CORE_THEMES))
    if "random" in entry:
        r = entry["random"]
        text += (f" | random part: micro {r['micro_f1']:.3f} FPR {r['no_theme_fpr']:.1%}")
    return text + f" [{entry['seconds']} s]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.experiments.feed_labels",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--design", action="append", default=[], metavar="NAME")
    parser.add_argument("--protocol", action="append", choices=["arxiv", "feed", "time"])
    parser.add_argument("--seed", type=int, action="append", metavar="N",
                        help="fold split seed (repeatable; default 0)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--out", type=Path, metavar="DIR", help="write one JSON per design/seed")
    parser.add_argument("--scores", type=Path, metavar="DIR", help="keep out-of-fold scores")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--learning-curve", type=float, nargs="+", metavar="FRACTION",
                        help="feed protocol with the feed training papers cut to these "
                        "fractions: per core theme positives vs F1 (written to --out)")
    parser.add_argument("--table", type=Path, metavar="DIR",
                        help="print the markdown table of the --out JSON files in DIR (the "
                        "--design names, in order; default all) and exit")
    parser.add_argument("--ensemble", action="store_true",
                        help="with --scores: average the --design scores on the logit scale "
                        "per protocol and seed, print their figures and exit")
    parser.add_argument("--ssm-recall", action="store_true",
                        help="with --scores: state-space-models recall on deep and classical "
                        "positives of the designs' saved scores, then exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, design in DESIGNS.items():
            print(f"{name:24} {design.description}")
        return 0
    unknown = [n for n in args.design if n not in DESIGNS]
    if unknown:
        parser.error(f"unknown design(s): {', '.join(unknown)} (see --list)")
    if args.table:
        print(table(args.table, args.design))
        return 0
    sets = load_label_sets(args.shared)
    if args.ensemble:
        print("\n".join(ensemble(args.scores, args.design, sets)))
        return 0
    if args.ssm_recall:
        print("\n".join(ssm_recall(sets, args.scores, args.design)))
        return 0
    if args.learning_curve:
        for name in args.design:
            rows = learning_curve(name, DESIGNS[name], sets, args.learning_curve,
                                  (args.seed or [0])[0])
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"{name}-curve.json").write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    protocols = args.protocol or ["arxiv", "feed", "time"]
    for name in args.design:
        for seed in args.seed or [0]:
            result = run(name, DESIGNS[name], sets, protocols, seed, args.scores)
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"{name}-s{seed}.json").write_text(json.dumps(result, indent=2)
                                                              + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
