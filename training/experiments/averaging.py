"""Committees of designs: would averaging several cross-validated designs rank papers better
than the best one alone?

Averaging models that err differently is the usual cure for the variance of few positives;
this measures it on the very out-of-fold scores the design comparisons use::

    python -m training.experiments.stream --design A --design B --protocol arxiv \\
        --seed S --scores DIR                                    # S = 0, 1, 2
    python -m training.experiments.averaging DIR --design A --design B [--subsets]

Each design's calibrated scores are averaged on the logit scale, so a theme applies where the
designs' mean logit is >= 0 (the committee's score >= 0.5), the same decision rule as one
model's. ``--subsets`` prints every non-empty subset of the designs, best mean micro-F1
first: choosing the best of many subsets on the same folds flatters it, so read a subset's
gain against the split-to-split range of its cells.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tagger.training.metrics import multilabel_report
from training.experiments.designs import design_summary, threshold_ceiling


def save_scores(directory: Path, design: str, protocol: str, seed: int, scores: np.ndarray,
                labels: np.ndarray) -> None:
    """Keep one cross-validation's out-of-fold scores (rows in document order, so every seed
    and design lines up with the same labels file)."""
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / f"{design}.{protocol}.seed{seed}.npy", scores)
    np.save(directory / f"labels.{protocol}.npy", labels)


def load_scores(directory: Path, design: str, protocol: str, seed: int) -> np.ndarray:
    path = directory / f"{design}.{protocol}.seed{seed}.npy"
    if not path.exists():
        raise FileNotFoundError(f"{path}: run python -m training.experiments.stream "
                                f"--design {design} --protocol {protocol} --seed {seed} "
                                f"--scores {directory}")
    return np.load(path)


def averaged(score_sets: Sequence[np.ndarray]) -> np.ndarray:
    """The committee's scores: the logistic of the members' mean logit."""
    logits = [np.log(s / (1 - s)) for s in (np.clip(s, 1e-9, 1 - 1e-9) for s in score_sets)]
    return 1 / (1 + np.exp(-np.mean(logits, axis=0)))


def summary(labels: np.ndarray, scores: np.ndarray, theme_ids: Sequence[str]) -> dict:
    """micro-F1, core-five macro-F1 and no-theme false-positive rate of tags at 0.5, and the
    core themes' threshold ceiling (how well the scores rank, whatever the thresholds)."""
    metrics = design_summary(multilabel_report(labels, scores >= 0.5, list(theme_ids)))
    return {key: metrics[key] for key in ("micro_f1", "core_macro_f1", "no_theme_fpr")} | {
        "core_ceiling": threshold_ceiling(labels, scores, list(theme_ids))["core_macro_f1"]}


def committee_row(directory: Path, designs: Sequence[str], protocol: str,
                  seeds: Sequence[int], theme_ids: Sequence[str]) -> dict:
    """Per-seed summaries of the committee of ``designs`` and their means."""
    labels = np.load(directory / f"labels.{protocol}.npy")
    per_seed = [summary(labels, averaged([load_scores(directory, d, protocol, seed)
                                          for d in designs]), theme_ids) for seed in seeds]
    means = {key: float(np.mean([s[key] for s in per_seed])) for key in per_seed[0]}
    return {"designs": list(designs), "per_seed": per_seed, "mean": means}


def markdown(row: dict) -> str:
    cells = " | ".join(f"{s['micro_f1']:.3f} / {s['core_macro_f1']:.3f} / "
                       f"{s['no_theme_fpr']:.1%}" for s in row["per_seed"])
    m = row["mean"]
    return (f"| {' + '.join(row['designs'])} | {cells} | {m['micro_f1']:.3f} | "
            f"{m['core_macro_f1']:.3f} | {m['no_theme_fpr']:.1%} | {m['core_ceiling']:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.experiments.averaging",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("scores", type=Path, help="the --scores DIR of stream_experiments")
    parser.add_argument("--design", action="append", required=True, metavar="NAME")
    parser.add_argument("--protocol", default="arxiv", choices=["arxiv", "all"])
    parser.add_argument("--seed", action="append", type=int, metavar="S",
                        help="cross-validation seeds (default 0, 1, 2)")
    parser.add_argument("--subsets", action="store_true",
                        help="every non-empty subset of the designs, best mean micro-F1 first")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows here")
    args = parser.parse_args(argv)
    from tagger.taxonomy import load_taxonomy

    theme_ids = list(load_taxonomy().ids)
    seeds = args.seed or [0, 1, 2]
    committees = ([c for k in range(1, len(args.design) + 1)
                   for c in itertools.combinations(args.design, k)]
                  if args.subsets else [tuple(args.design)])
    try:
        rows = [committee_row(args.scores, c, args.protocol, seeds, theme_ids)
                for c in committees]
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows.sort(key=lambda r: -r["mean"]["micro_f1"])
    print("| designs averaged | " + " | ".join(f"seed {s}" for s in seeds)
          + " | mean micro-F1 | mean core macro-F1 | mean no-theme FPR "
          "| mean core ceiling |")
    print("|---|" + "---|" * len(seeds) + "---:|---:|---:|---:|")
    for row in rows:
        print(markdown(row))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
