"""Compare model designs with honest, rerunnable cross-validation.

Two protocols, both nested: every model tunes its thresholds and calibration inside its own
``fit`` on its training folds only, and is scored on a fold it never saw (``training.fit``):

* ``arxiv``: 5-fold CV on ``arxiv_train`` (the realistic stream, 55% no theme); every training
  fold is augmented with the whole seed set (optionally down-weighted) and, optionally, silver
  documents. This mirrors the real setting: train on seed + arXiv, tag arXiv-like papers.
* ``all``: 5-fold CV on seed + arXiv together.

Usage::

    python -m training.experiments.designs                      # every design, both protocols
    python -m training.experiments.designs --design default --design no-lsa
    python -m training.experiments.designs --design default --throughput
    python -m training.experiments.designs --design default --protocol none --throughput
    python -m training.experiments.designs --list

Results go to stdout as markdown rows and, with ``--out DIR``, one JSON per design.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tagger.corpus import Document, read_documents
from tagger.estimator import build_model
from tagger.fields import UnlabelledPapers
from tagger.taxonomy import Taxonomy, load_taxonomy
from tagger.training.fit import ExtraData, cross_validate, fields_of, joined
from tagger.training.metrics import best_threshold_f1, label_matrix

CORE_THEMES = ("autoregressive-models", "state-space-models", "automl", "causal-discovery",
               "time-series")
DEFAULT_SHARED = Path(__file__).resolve().parents[3] / "shared"


@dataclass(frozen=True)
class Design:
    """One model design: ``build_model`` params and the seed set's sample weight."""

    description: str
    params: dict = field(default_factory=dict)
    seed_weight: float = 1.0


DESIGNS: dict[str, Design] = {
    "default": Design("what build_model() + train_tagger() ship (v4): title and abstract as "
                      "separate fields, lemma 1-2g TF-IDF (title again x0.5), phrase counts "
                      "(paper, title), 300-d LSA with the unlabelled abstracts, LR C=8, "
                      "F0.8 thresholds shrunk to the pooled one (m=10) + calibration learnt "
                      "inside fit"),
    "no-prior": Design("default without threshold shrinkage (m=0)",
                       {"classifier__prior_strength": 0.0}),
    "no-lsa": Design("default without the LSA block", {"features__lsa_components": 0}),
    "beta-1": Design("default, thresholds maximise F1", {"classifier__beta": 1.0}),
    "prior-5": Design("default, prior shrinkage m=5", {"classifier__prior_strength": 5.0}),
    "prior-20": Design("default, prior shrinkage m=20", {"classifier__prior_strength": 20.0}),
    "prior-10-beta-1": Design("prior m=10, thresholds maximise F1",
                              {"classifier__prior_strength": 10.0, "classifier__beta": 1.0}),
    "C4": Design("default, C=4", {"classifier__C": 4.0}),
    "seed-0.5": Design("default, seed documents weight 0.5", seed_weight=0.5),
    "phrase-2": Design("default, taxonomy-phrase blocks at twice the weight",
                       {"features__phrase_weight": 2.0}),
    "title-1": Design("default, the title's TF-IDF row added at full weight",
                      {"features__title_weight": 1.0}),
    "C16": Design("default, C=16", {"classifier__C": 16.0}),
    "nb-0.5": Design("default, features scaled halfway to naive Bayes log-count ratios "
                     "per theme (NBSVM-style)", {"classifier__nb_scaling": 0.5}),
    "nb-1": Design("default, features scaled by naive Bayes log-count ratios per theme "
                   "(NBSVM-style)", {"classifier__nb_scaling": 1.0}),
    "C-per-theme": Design("default, each theme picks C from (2, 8, 32) by out-of-fold average "
                          "precision inside fit", {"classifier__C_grid": (2.0, 8.0, 32.0)}),
    "lsa-w1": Design("default, LSA block at weight 1.0 (1.5 shipped)",
                     {"features__lsa_weight": 1.0}),
    "lsa-w2": Design("default, LSA block at weight 2.0 (1.5 shipped)",
                     {"features__lsa_weight": 2.0}),
    "lsa-150": Design("default, 150 LSA dimensions (300 shipped)",
                      {"features__lsa_components": 150}),
    "lsa-500": Design("default, 500 LSA dimensions (300 shipped)",
                      {"features__lsa_components": 500}),
}


def load_sets(shared: Path) -> tuple[list[Document], list[Document]]:
    labels = shared / "corpus" / "labels"
    seed = list(read_documents(labels / "seed.jsonl", labelled=True))
    arxiv = list(read_documents(labels / "arxiv_train.jsonl", labelled=True))
    return seed, arxiv


def read_silver(path: Path) -> list[Document]:
    return list(read_documents(path, labelled=True))


def design_summary(report: dict) -> dict:
    """The figures every design table shows, from a :func:`multilabel_report`: micro- and
    macro-F1, the core themes' macro-F1 (rounded to 4 places like the report's own
    figures), the no-theme false-positive rate and each theme's F1."""
    core = [report["per_theme"][t]["f1"] or 0.0 for t in CORE_THEMES]
    return {
        "micro_f1": report["micro_f1"],
        "macro_f1": report["macro_f1"],
        "core_macro_f1": round(float(np.mean(core)), 4),
        "no_theme_fpr": report["no_theme_false_positive_rate"],
        "per_theme_f1": {t: r["f1"] for t, r in report["per_theme"].items()},
    }


def run_design(
    name: str,
    design: Design,
    taxonomy: Taxonomy,
    seed_docs: list[Document],
    arxiv_docs: list[Document],
    silver: list[Document] | None = None,
    silver_weight: float = 0.3,
    protocols: tuple[str, ...] = ("arxiv", "all"),
    folds: int = 5,
    seed: int = 0,
    unlabelled: list[Document] | None = None,
    params: dict | None = None,
) -> dict:
    """Cross-validated metrics of one design under the requested protocols; ``params``
    (e.g. a learnt representation) are added to the design's."""
    ids = taxonomy.ids
    model = build_model(taxonomy, classifier__random_state=seed,
                        **{**design.params, **(params or {})})
    result: dict = {"design": name, "description": design.description,
                    "params": {k: list(v) if isinstance(v, tuple) else v
                               for k, v in design.params.items()},
                    "seed_weight": design.seed_weight,
                    "silver": len(silver or []), "silver_weight": silver_weight if silver else 0}
    pool = UnlabelledPapers(fields_of(unlabelled)) if unlabelled else None

    def as_extra(docs: list[Document], weight: float) -> ExtraData:
        return ExtraData(fields_of(docs), label_matrix([d.tags for d in docs], ids),
                         np.full(len(docs), weight))

    silver_extra = [as_extra(silver, silver_weight)] if silver else []
    if "arxiv" in protocols:
        started = time.perf_counter()
        Y = label_matrix([d.tags for d in arxiv_docs], ids)
        extra = joined([as_extra(seed_docs, design.seed_weight), *silver_extra])
        cv = cross_validate(model, fields_of(arxiv_docs), Y, ids, folds=folds, seed=seed,
                            extra=extra, unlabelled=pool)
        result["arxiv"] = protocol_result(cv, started, Y, ids)
    if "all" in protocols:
        started = time.perf_counter()
        docs = seed_docs + arxiv_docs
        Y = label_matrix([d.tags for d in docs], ids)
        weights = np.array([design.seed_weight] * len(seed_docs) + [1.0] * len(arxiv_docs))
        cv = cross_validate(model, fields_of(docs), Y, ids, folds=folds, seed=seed,
                            weights=weights, extra=joined(silver_extra), unlabelled=pool)
        result["all"] = protocol_result(cv, started, Y, ids)
    return result


def measure_throughput(
    design: Design, taxonomy: Taxonomy, train_docs: list[Document], unlabelled: Path,
    n: int = 3000, repeats: int = 3,
) -> dict:
    """Fit on ``train_docs``, then time ``predict_proba`` on ``n`` unlabelled abstracts in this
    single process (best of ``repeats``): docs/s on one core, features + scoring."""
    ids = taxonomy.ids
    started = time.perf_counter()
    model = build_model(taxonomy, **design.params).fit(
        fields_of(train_docs), label_matrix([d.tags for d in train_docs], ids))
    fit_seconds = time.perf_counter() - started
    records = []
    with open(unlabelled, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            records.append({"title": record.get("title") or "", "abstract": record["abstract"]})
            if len(records) == n:
                break
    return timed_scoring(model, records, fit_seconds, repeats)


def timed_scoring(model: Any, records: list[dict], fit_seconds: float, repeats: int) -> dict:
    """Best-of-``repeats`` ``predict_proba`` docs/s on ``records`` in this process."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict_proba(records)
        best = min(best, time.perf_counter() - started)
    return {"docs": len(records), "docs_per_second": round(len(records) / best),
            "fit_seconds": round(fit_seconds, 1)}


def protocol_result(cv: Any, started: float, Y: np.ndarray | None = None,
                    theme_ids: Sequence[str] = ()) -> dict:
    """One protocol's entry of a design's result: the summary metrics, the calibration
    error and the seconds since ``started`` (a ``time.perf_counter()`` value); given the
    scored labels ``Y``, also the core themes' threshold ceiling (:func:`threshold_ceiling`).
    """
    result = (design_summary(cv.report) | {"ece": cv.calibration["ece"]}
              | {"seconds": round(time.perf_counter() - started)})
    if Y is not None:
        result["threshold_ceiling"] = threshold_ceiling(Y, cv.scores, theme_ids)
    return result


def threshold_ceiling(Y: np.ndarray, S: np.ndarray, theme_ids: Sequence[str]) -> dict:
    """Each core theme's F1 with the best threshold chosen on the scored papers themselves
    (:func:`tagger.training.metrics.best_threshold_f1`), and their mean: what no threshold
    rule can beat with these out-of-fold scores."""
    per_theme = {t: round(best_threshold_f1(Y[:, theme_ids.index(t)],
                                            S[:, theme_ids.index(t)])[0], 4)
                 for t in CORE_THEMES if t in theme_ids}
    mean = round(float(np.mean(list(per_theme.values()))), 4) if per_theme else None
    return {"core_macro_f1": mean, "per_theme_f1": per_theme}


def markdown_row(result: dict, protocol: str) -> str:
    r = result[protocol]
    core = " | ".join(f"{r['per_theme_f1'][t] or 0:.2f}" for t in CORE_THEMES)
    return (f"| {result['design']} | {r['micro_f1']:.3f} | {r['macro_f1']:.3f} | "
            f"{r['core_macro_f1']:.3f} | {core} | {r['no_theme_fpr']:.1%} | "
            f"{r.get('ece', 0):.3f} |")


HEADER = ("| design | micro-F1 | macro-F1 | core macro-F1 | AR | SSM | AutoML | causal-disc | "
          "time-series | no-theme FPR | ECE |\n|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.experiments.designs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--design", action="append", metavar="NAME",
                        help="design to run (repeatable; default: all)")
    parser.add_argument("--list", action="store_true", help="list the designs and exit")
    parser.add_argument("--protocol", action="append", choices=["arxiv", "all", "none"],
                        help="protocol(s) to run (default: both; 'none' with --throughput "
                        "measures speed only)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="the shared data folder (default: ../shared)")
    parser.add_argument("--silver", type=Path, metavar="FILE",
                        help="silver labels (from `tagger weak-label`) added to training folds")
    parser.add_argument("--silver-weight", type=float, default=0.3)
    parser.add_argument("--throughput", action="store_true",
                        help="also measure predict_proba docs/s on 3,000 unlabelled abstracts")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write one JSON per design")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.list:
        for name, design in DESIGNS.items():
            print(f"{name:24} {design.description}")
        return 0
    names = args.design or list(DESIGNS)
    unknown = [n for n in names if n not in DESIGNS]
    if unknown:
        parser.error(f"unknown design(s): {', '.join(unknown)} (see --list)")
    taxonomy = load_taxonomy()
    seed_docs, arxiv_docs = load_sets(args.shared)
    silver = read_silver(args.silver) if args.silver else None
    protocols = tuple(p for p in args.protocol or ("arxiv", "all") if p != "none")
    unlabelled = list(read_documents(args.shared / "corpus" / "unlabelled.jsonl",
                                     on_error=lambda error: None))
    results = []
    for name in names:
        result = run_design(name, DESIGNS[name], taxonomy, seed_docs, arxiv_docs, silver,
                            args.silver_weight, protocols, seed=args.seed,
                            unlabelled=unlabelled)
        if args.throughput:
            result["throughput"] = measure_throughput(
                DESIGNS[name], taxonomy, seed_docs + arxiv_docs,
                args.shared / "corpus" / "unlabelled.jsonl")
        results.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            suffix = "+silver" if silver else ""
            (args.out / f"{name}{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    print_tables(results, protocols, args.throughput)
    return 0


def print_tables(results: list[dict], protocols: list[str], throughput: bool) -> None:
    """The markdown tables of EXPERIMENTS.md: one per protocol, and the throughput table."""
    for protocol in protocols:
        print(f"\n### protocol `{protocol}`\n\n{HEADER}")
        for result in results:
            print(markdown_row(result, protocol))
    if throughput:
        print("\n| design | docs/s (1 core, predict_proba) | fit s |\n|---|---|---|")
        for result in results:
            t = result["throughput"]
            print(f"| {result['design']} | {t['docs_per_second']} | {t['fit_seconds']} |")


if __name__ == "__main__":
    sys.exit(main())
