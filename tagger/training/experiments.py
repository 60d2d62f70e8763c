"""Compare model designs with honest, rerunnable cross-validation.

Two protocols, both with cross-fitted per-theme thresholds (``training.fit``):

* ``arxiv``: 5-fold CV on ``arxiv_train`` (the realistic stream, 55% no theme); every training
  fold is augmented with the whole seed set (optionally down-weighted) and, optionally, silver
  documents. This mirrors the real setting: train on seed + arXiv, tag arXiv-like papers.
* ``all``: 5-fold CV on seed + arXiv together.

Usage::

    python -m tagger.training.experiments                      # every design, both protocols
    python -m tagger.training.experiments --design default --design no-char
    python -m tagger.training.experiments --design default --throughput
    python -m tagger.training.experiments --design default --protocol none --throughput
    python -m tagger.training.experiments --list

Results go to stdout as markdown rows and, with ``--out DIR``, one JSON per design.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.corpus import Document, read_documents
from tagger.model import build_model
from tagger.taxonomy import Taxonomy, load_taxonomy
from tagger.training.fit import THRESHOLD_PARAMS, ExtraData, cross_validate, fit_pipeline
from tagger.training.metrics import label_matrix

CORE_THEMES = ("autoregressive-models", "state-space-models", "automl", "causal-discovery",
               "time-series")
DEFAULT_SHARED = Path(__file__).resolve().parents[3] / "shared"


@dataclass(frozen=True)
class Design:
    """One model design: ``build_model`` params, seed-set weight, threshold options."""

    description: str
    params: dict = field(default_factory=dict)
    seed_weight: float = 1.0
    threshold: dict = field(default_factory=dict)


BASE = {"features__char_mode": None, "features__title_weight": 0.0,
        "features__title_phrases": False, "features__phrase_weight": 1.0, "classifier__C": 4.0,
        "classifier__class_weight": "balanced", "features__lsa_components": 0}
V2 = {**BASE, "features__title_weight": 0.5, "features__title_phrases": True}

DESIGNS: dict[str, Design] = {
    "default": Design("what build_model() + train_tagger() ship: v2, C=8, F0.8 thresholds, "
                      "+ 300-d LSA block fitted with the 7,622 unlabelled abstracts",
                      threshold=THRESHOLD_PARAMS),
    "v2-shipped": Design("the previous default: v2, C=8, F0.8 thresholds, no LSA",
                         {**V2, "classifier__C": 8.0}, threshold=THRESHOLD_PARAMS),
    "old-default": Design(
        "lemma 1-2g TF-IDF + char_wb 3-5g TF-IDF + phrase counts, LR C=4 balanced",
        {"features__char_mode": "text", "features__char_ngram_range": (3, 5),
         "features__title_weight": 0.0, "features__title_phrases": False,
         "features__phrase_weight": 1.0, "features__lsa_components": 0,
         "classifier__C": 4.0, "classifier__class_weight": "balanced"}),
    "no-char": Design("old-default without the char n-gram block", BASE),
    "char-words": Design("no-char + char 3-5g of distinct lemmas (cached per word)",
                         {**BASE, "features__char_mode": "words"}),
    "phrase-x3": Design("no-char, phrase block x3", {**BASE, "features__phrase_weight": 3.0}),
    "title-0.5": Design("no-char, title n-grams added again x0.5",
                        {**BASE, "features__title_weight": 0.5}),
    "title-phrases": Design("no-char + title phrase-count block",
                            {**BASE, "features__title_phrases": True}),
    "C1": Design("no-char, C=1", {**BASE, "classifier__C": 1.0}),
    "C16": Design("no-char, C=16", {**BASE, "classifier__C": 16.0}),
    "unweighted": Design("no-char, no class weighting",
                         {**BASE, "classifier__class_weight": None}),
    "seed-0.5": Design("no-char, seed documents weight 0.5", BASE, seed_weight=0.5),
    "fbeta-0.7": Design("no-char, thresholds maximise F0.7", BASE, threshold={"beta": 0.7}),
    "floor-0.2": Design("no-char, thresholds >= 0.2", BASE, threshold={"floor": 0.2}),
    "v2": Design("no-char + title n-grams x0.5 + title phrase block", V2),
    "v2-fbeta": Design("v2, thresholds maximise F0.8", V2, threshold={"beta": 0.8}),
    "v2-char": Design("v2 + char 3-5g of distinct lemmas",
                      {**V2, "features__char_mode": "words"}),
    "v2-C8": Design("v2, C=8", {**V2, "classifier__C": 8.0}),
}


def load_sets(shared: Path) -> tuple[list[Document], list[Document]]:
    labels = shared / "corpus" / "labels"
    seed = list(read_documents(labels / "seed.jsonl", labelled=True))
    arxiv = list(read_documents(labels / "arxiv_train.jsonl", labelled=True))
    return seed, arxiv


def read_silver(path: Path) -> list[Document]:
    return list(read_documents(path, labelled=True))


def _summary(report: dict) -> dict:
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
    unlabelled: list[str] | None = None,
) -> dict:
    """Cross-validated metrics of one design under the requested protocols."""
    ids = taxonomy.ids
    model = build_model(taxonomy, **design.params)
    result: dict = {"design": name, "description": design.description,
                    "params": {k: list(v) if isinstance(v, tuple) else v
                               for k, v in design.params.items()},
                    "seed_weight": design.seed_weight, "threshold": design.threshold,
                    "silver": len(silver or []), "silver_weight": silver_weight if silver else 0}

    def as_extra(docs: list[Document], weight: float) -> ExtraData:
        return ExtraData([d.text for d in docs], label_matrix([d.tags for d in docs], ids),
                         np.full(len(docs), weight))

    silver_extra = as_extra(silver, silver_weight) if silver else ExtraData.empty(len(ids))
    # Unlabelled texts only reach the features (designs with an LSA block use them).
    silver_extra.unlabelled = list(unlabelled or [])
    if "arxiv" in protocols:
        started = time.perf_counter()
        texts = [d.text for d in arxiv_docs]
        Y = label_matrix([d.tags for d in arxiv_docs], ids)
        extra = as_extra(seed_docs, design.seed_weight) + silver_extra
        cv = cross_validate(model, texts, Y, ids, folds=folds, seed=seed, extra=extra,
                            threshold_params=design.threshold)
        result["arxiv"] = _summary(cv.report) | {"seconds": round(time.perf_counter() - started)}
    if "all" in protocols:
        started = time.perf_counter()
        docs = seed_docs + arxiv_docs
        texts = [d.text for d in docs]
        Y = label_matrix([d.tags for d in docs], ids)
        weights = np.array([design.seed_weight] * len(seed_docs) + [1.0] * len(arxiv_docs))
        cv = cross_validate(model, texts, Y, ids, folds=folds, seed=seed, weights=weights,
                            extra=silver_extra,
                            threshold_params=design.threshold)
        result["all"] = _summary(cv.report) | {"seconds": round(time.perf_counter() - started)}
    return result


def measure_throughput(
    design: Design, taxonomy: Taxonomy, train_docs: list[Document], unlabelled: Path,
    n: int = 3000, repeats: int = 3,
) -> dict:
    """Fit on ``train_docs``, then time ``predict_proba`` on ``n`` unlabelled abstracts in this
    single process (best of ``repeats``): docs/s on one core, features + scoring."""
    ids = taxonomy.ids
    started = time.perf_counter()
    pipeline = fit_pipeline(build_model(taxonomy, **design.params),
                            [d.text for d in train_docs],
                            label_matrix([d.tags for d in train_docs], ids))
    fit_seconds = time.perf_counter() - started
    texts = []
    with open(unlabelled, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            title = record.get("title") or ""
            texts.append(f"{title}.\n{record['abstract']}" if title else record["abstract"])
            if len(texts) == n:
                break
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        pipeline.predict_proba(texts)
        best = min(best, time.perf_counter() - started)
    return {"docs": len(texts), "docs_per_second": round(len(texts) / best),
            "fit_seconds": round(fit_seconds, 1)}


def markdown_row(result: dict, protocol: str) -> str:
    r = result[protocol]
    core = " | ".join(f"{r['per_theme_f1'][t] or 0:.2f}" for t in CORE_THEMES)
    return (f"| {result['design']} | {r['micro_f1']:.3f} | {r['macro_f1']:.3f} | "
            f"{r['core_macro_f1']:.3f} | {core} | {r['no_theme_fpr']:.1%} |")


HEADER = ("| design | micro-F1 | macro-F1 | core macro-F1 | AR | SSM | AutoML | causal-disc | "
          "time-series | no-theme FPR |\n|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.training.experiments",
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
    unlabelled = [doc.text for doc in read_documents(
        args.shared / "corpus" / "unlabelled.jsonl", on_error=lambda error: None)]
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
    for protocol in protocols:
        print(f"\n### protocol `{protocol}`\n\n{HEADER}")
        for result in results:
            print(markdown_row(result, protocol))
    if args.throughput:
        print("\n| design | docs/s (1 core, predict_proba) | fit s |\n|---|---|---|")
        for result in results:
            t = result["throughput"]
            print(f"| {result['design']} | {t['docs_per_second']} | {t['fit_seconds']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
