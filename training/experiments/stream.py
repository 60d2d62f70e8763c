"""Compare ways of learning from the arXiv feed, with the protocols of
:mod:`training.experiments.designs` (nested cross-validation, seed added to every arXiv fold).

Every design is the shipped estimator (``build_model``) plus some of: a representation learnt
from the feed (:mod:`tagger.representations`, built once and cached under ``build/feed/``),
including arXiv-category predictors as features, arXiv categories as weak labels, and
self-training on a feed sample
(:class:`~training.experiments.self_training.FeedAugmented`).

Usage::

    python -m training.experiments.stream --list
    python -m training.experiments.stream --design feed-lsa --protocol arxiv
    python -m training.experiments.stream --build lsa256      # just fit a representation
    python -m training.experiments.stream --build ppmi256-p \
        --to tagger/data/feed_representation.npz       # the committed artifacts
    python -m training.experiments.stream --build categories25 \
        --to tagger/data/category_representation.npz
    python -m training.experiments.stream --design feed-lsa --protocol none --throughput
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.corpus import Document, read_documents
from tagger.estimator import build_model
from tagger.features import LemmaNgrams
from tagger.fields import UnlabelledPapers
from tagger.phrases import PhraseIndex
from tagger.representations import (
    DocumentFrequencies,
    FeedRepresentation,
    fit_category_representation,
    fit_feed_representation,
)
from tagger.taxonomy import Taxonomy, load_taxonomy
from tagger.text import lemmas
from tagger.training.feed import (
    FeedPaper,
    category_themes,
    labelled_feed_papers,
    read_feed,
    read_labels_by_id,
    sample_feed,
)
from tagger.training.fit import ExtraData, check_tags, cross_validate, fields_of
from tagger.training.metrics import label_matrix
from training.experiments.averaging import save_scores
from training.experiments.designs import (
    CORE_THEMES,
    DEFAULT_SHARED,
    load_sets,
    print_tables,
    protocol_result,
    timed_scoring,
)
from training.experiments.self_training import FeedAugmented
from training.experiments.stacked import StackedRepresentation

CACHE = Path(__file__).resolve().parents[2] / "build" / "feed"

# Representations learnt from the feed: fit_feed_representation (or, for method
# "categories", fit_category_representation) arguments, plus ``sample`` (how many feed
# papers, drawn with seed 0; None: all 176,332).
REPRESENTATIONS: dict[str, dict] = {
    "lsa256": {"method": "lsa", "dim": 256},
    "lsa256-p": {"method": "lsa", "dim": 256, "phrases": 10000},
    "lsa128": {"method": "lsa", "dim": 128},
    "lsa256-40k": {"method": "lsa", "dim": 256, "sample": 40000},
    "ppmi256": {"method": "ppmi", "dim": 256},
    "ppmi256-p": {"method": "ppmi", "dim": 256, "phrases": 10000},
    # The 25 categories filed on >= 1% of a 40,000-paper sample (log-odds directions).
    "categories25": {"method": "categories", "sample": 40000, "min_papers": 400},
    "categories25-p": {"method": "categories", "sample": 40000, "min_papers": 400,
                       "activation": "sigmoid"},
    "categories25-C4": {"method": "categories", "sample": 40000, "min_papers": 400, "C": 4.0},
    "categories39": {"method": "categories", "sample": 40000, "min_papers": 200},
    "categories47": {"method": "categories", "sample": 100000, "min_papers": 300},
    # Categories on >= 1% of the whole feed (176,332 papers).
    "categories-all": {"method": "categories", "sample": None, "min_papers": 1763},
    # The same plus, for every theme named by >= 200 feed titles (its taxonomy phrases), a
    # predictor of "the title names this theme" learnt from the abstract alone.
    "categories-titles": {"method": "categories", "sample": None, "min_papers": 1763,
                          "title_themes": "all"},
    "categories-titles-core": {"method": "categories", "sample": None, "min_papers": 1763,
                               "title_themes": "core"},
}


@dataclass(frozen=True)
class StreamDesign:
    description: str
    representation: str | tuple[tuple[str, float], ...] | None = None
    params: dict = field(default_factory=dict)
    # FeedAugmented settings (None: no pool); pool = feed sample of this size
    augment: dict | None = None
    pool: int = 20000
    # word-block IDF over the labelled papers and a feed sample of this size (None: labelled)
    idf_sample: int | None = None


NO_LSA = {"features__lsa_components": 0}
DESIGNS: dict[str, StreamDesign] = {
    "default": StreamDesign("the shipped design (LSA on the 7,622 unlabelled abstracts)"),
    "feed-lsa": StreamDesign("LSA block learnt on the whole feed instead (256-d, weight 1.5)",
                             "lsa256", NO_LSA | {"features__representation_weight": 1.5}),
    "feed-lsa-w1": StreamDesign("feed LSA, weight 1.0", "lsa256",
                                NO_LSA | {"features__representation_weight": 1.0}),
    "feed-lsa-w2": StreamDesign("feed LSA, weight 2.0", "lsa256",
                                NO_LSA | {"features__representation_weight": 2.0}),
    "feed-lsa+unl": StreamDesign("feed LSA (1.0) next to the shipped unlabelled LSA", "lsa256",
                                 {"features__representation_weight": 1.0}),
    "feed-lsa128": StreamDesign("feed LSA 128-d, weight 1.5", "lsa128",
                                NO_LSA | {"features__representation_weight": 1.5}),
    "feed-lsa-40k": StreamDesign("feed LSA fitted on a 40,000-paper sample", "lsa256-40k",
                                 NO_LSA | {"features__representation_weight": 1.5}),
    "feed-lsa-phrases": StreamDesign("feed LSA with 10,000 mined collocations as terms",
                                     "lsa256-p",
                                     NO_LSA | {"features__representation_weight": 1.5}),
    "feed-ppmi": StreamDesign("TF-IDF-weighted PPMI word vectors from the feed (256-d)",
                              "ppmi256", NO_LSA | {"features__representation_weight": 1.5}),
    "feed-ppmi+unl": StreamDesign("PPMI word vectors + collocations (1.0) next to the shipped "
                                  "unlabelled LSA", "ppmi256-p",
                                  {"features__representation_weight": 1.0}),
    "feed-ppmi+unl-w0.5": StreamDesign("PPMI word vectors + collocations (0.5) next to the "
                                       "shipped unlabelled LSA", "ppmi256-p",
                                       {"features__representation_weight": 0.5}),
    "feed-ppmi-phrases": StreamDesign("PPMI word vectors + collocations", "ppmi256-p",
                                      NO_LSA | {"features__representation_weight": 1.5}),
    "feed-categories": StreamDesign("default + arXiv-category predictors as features: log-odds "
                                    "of the 25 frequent categories (unit length, weight 1.0)",
                                    "categories25", {"features__representation_weight": 1.0}),
    "feed-categories-idf40k": StreamDesign("feed-categories, word IDF over the labelled papers "
                                           "and a 40,000-paper feed sample", "categories25",
                                           {"features__representation_weight": 1.0},
                                           idf_sample=40000),
    "feed-categories-idf176k": StreamDesign("feed-categories, word IDF over the labelled papers "
                                            "and the whole feed", "categories25",
                                            {"features__representation_weight": 1.0},
                                            idf_sample=176332),
    "feed-categories-p": StreamDesign("default + arXiv-category probabilities as features "
                                      "(25 categories, weight 0.4)", "categories25-p",
                                      {"features__representation_weight": 0.4}),
    "feed-categories-w0.7": StreamDesign("feed-categories at weight 0.7", "categories25",
                                         {"features__representation_weight": 0.7}),
    "feed-categories-w1.3": StreamDesign("feed-categories at weight 1.3", "categories25",
                                         {"features__representation_weight": 1.3}),
    "feed-categories-C4": StreamDesign("feed-categories, category regressions with C=4 "
                                       "(1.0 shipped)", "categories25-C4",
                                       {"features__representation_weight": 1.0}),
    "feed-categories39": StreamDesign("log-odds of the 39 categories on >= 200 of the "
                                      "40,000 papers (unit length, weight 1.0)", "categories39",
                                      {"features__representation_weight": 1.0}),
    "feed-categories-all": StreamDesign("log-odds of the categories on >= 1% of the whole "
                                        "feed (unit length, weight 1.0)", "categories-all",
                                        {"features__representation_weight": 1.0}),
    "feed-categories-titles": StreamDesign("log-odds of the 24 categories on >= 1% of the whole "
                                           "feed + 'the title names theme T' predictors learnt "
                                           "from abstracts, every theme in >= 200 titles",
                                           "categories-titles",
                                           {"features__representation_weight": 1.0}),
    "feed-categories-titles-core": StreamDesign("as feed-categories-titles, title predictors for "
                                                "the five core themes only",
                                                "categories-titles-core",
                                                {"features__representation_weight": 1.0}),
    "feed-categories+ppmi": StreamDesign("the shipped category block (weight 1.0) and the PPMI "
                                         "word vectors + collocations (weight 1.0) side by side",
                                         (("categories25", 1.0), ("ppmi256-p", 1.0))),
    "feed-categories+ppmi-0.5": StreamDesign("as feed-categories+ppmi, PPMI at weight 0.5",
                                             (("categories25", 1.0), ("ppmi256-p", 0.5))),
    "feed-categories-b0.9": StreamDesign("v5, thresholds maximise F0.9 (F0.8 shipped)",
                                         "categories25",
                                         {"features__representation_weight": 1.0,
                                          "classifier__beta": 0.9}),
    "feed-categories-b1": StreamDesign("v5, thresholds maximise F1 (F0.8 shipped)",
                                       "categories25",
                                       {"features__representation_weight": 1.0,
                                        "classifier__beta": 1.0}),
    "feed-categories-nolsa": StreamDesign("the category block instead of the unlabelled LSA "
                                          "block (weight 1.0)", "categories25",
                                          NO_LSA | {"features__representation_weight": 1.0}),
    "feed-categories-r3": StreamDesign("feed-categories, thresholds and calibration tuned on "
                                       "out-of-fold logits averaged over 3 internal fold splits",
                                       "categories25", {"features__representation_weight": 1.0,
                                                        "classifier__cv_repeats": 3}),
    "feed-categories-r5": StreamDesign("as feed-categories-r3 with 5 internal fold splits",
                                       "categories25", {"features__representation_weight": 1.0,
                                                        "classifier__cv_repeats": 5}),
    "feed-categories-clf-C4": StreamDesign("feed-categories, per-theme regressions with C=4 "
                                           "(8 shipped)", "categories25",
                                           {"features__representation_weight": 1.0,
                                            "classifier__C": 4.0}),
    "feed-categories-clf-C16": StreamDesign("feed-categories, per-theme regressions with C=16",
                                            "categories25",
                                            {"features__representation_weight": 1.0,
                                             "classifier__C": 16.0}),
    "feed-categories-lsa500": StreamDesign("feed-categories, 500 LSA dimensions (300 shipped)",
                                           "categories25",
                                           {"features__representation_weight": 1.0,
                                            "features__lsa_components": 500}),
    "feed-categories-title1": StreamDesign("feed-categories, the title counted again at full "
                                           "weight (0.5 shipped)", "categories25",
                                           {"features__representation_weight": 1.0,
                                            "features__title_weight": 1.0}),
    "feed-categories47": StreamDesign("default + log-odds of 47 categories (>= 300 papers of "
                                      "a 100,000-paper sample; unit length, weight 1.0)",
                                      "categories47", {"features__representation_weight": 1.0}),
    "categories": StreamDesign("default + arXiv-category weak labels (20,000-paper feed "
                               "sample, at most 300 per theme, weight 0.1)",
                               augment={"teacher": False, "categories": True, "weight": 0.1}),
    "categories-0.3": StreamDesign("arXiv-category weak labels as above, weight 0.3",
                                   augment={"teacher": False, "categories": True,
                                            "weight": 0.3}),
    "self-train": StreamDesign("default + self-training on a 20,000-paper feed sample: per "
                               "theme the <= 300 papers the teacher scores >= 0.9 (labels: "
                               "its tags) + 2,000 papers it scores < 0.1 everywhere, weight "
                               "0.3", augment={"confidence": 0.9, "negatives": 2000,
                                               "max_per_theme": 300, "weight": 0.3}),
    "self-train-0.1": StreamDesign("self-training as above, weight 0.1",
                                   augment={"confidence": 0.9, "negatives": 2000,
                                            "max_per_theme": 300, "weight": 0.1}),
    "self-train+cat": StreamDesign("self-training + category themes added to pool labels",
                                   augment={"confidence": 0.9, "negatives": 2000,
                                            "max_per_theme": 300, "weight": 0.3,
                                            "categories": True}),
}


def representation(name: str, cache: Path = CACHE, feed: Path | None = None) -> Path:
    """The cached representation file, fitted (and timed) first if missing."""
    path = cache / f"{name}.npz"
    if path.exists():
        return path
    spec = dict(REPRESENTATIONS[name])
    sample = spec.pop("sample", None)
    started = time.perf_counter()
    papers = sample_feed(list(read_feed(feed) if feed else read_feed()), sample, seed=0)
    title_spec = spec.pop("title_themes", None)
    if title_spec:
        title_lemmas = [lemmas(p.title) for p in papers]
        abstract_lemmas = [lemmas(p.abstract) for p in papers]
        lemma_lists = [t + a for t, a in zip(title_lemmas, abstract_lemmas, strict=True)]
        spec["title_themes"] = title_themes(title_lemmas, core_only=title_spec == "core")
        spec["abstract_lemma_lists"] = abstract_lemmas
    else:
        lemma_lists = [p.lemmas() for p in papers]
    read_s = time.perf_counter() - started
    corpus = (f"arxiv_feed.jsonl.gz, {len(papers)} papers "
              f"({'all' if sample is None else 'uniform sample, seed 0'})")
    method = spec.pop("method")
    if method == "categories":
        rep = fit_category_representation(lemma_lists, [p.categories for p in papers],
                                          corpus=corpus, **spec)
    else:
        rep = fit_feed_representation(lemma_lists, seed=0, corpus=corpus, method=method, **spec)
    cache.mkdir(parents=True, exist_ok=True)
    rep.save(path)
    print(f"built {name}: {rep.describe()} in {time.perf_counter() - started:.0f} s "
          f"(reading + lemmatising {read_s:.0f} s), {path.stat().st_size / 1e6:.1f} MB",
          file=sys.stderr, flush=True)
    return path


def feed_document_frequencies(n: int, cache: Path = CACHE) -> DocumentFrequencies:
    """Document frequencies of the word block's n-grams in a feed sample of ``n`` papers
    (seed 0), cached; n-grams in fewer than 2 papers are left out (they count as 0)."""
    path = cache / f"df-{n}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())  # noqa: S301 - our own cache
    started = time.perf_counter()
    analyzer = LemmaNgrams(2)
    counts: Counter = Counter()
    for paper in sample_feed(list(read_feed()), n, seed=0):
        counts.update(set(analyzer((lemmas(paper.title), lemmas(paper.abstract)))))
    frequencies = DocumentFrequencies(n, {k: v for k, v in counts.items() if v >= 2})
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(frequencies, protocol=5))
    print(f"built df-{n}: {len(frequencies.counts)} n-grams in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return frequencies


def title_themes(title_lemma_lists: list[list[str]], core_only: bool = False) -> list[list[str]]:
    """Per title, the themes (of the packaged taxonomy) whose phrases it names."""
    taxonomy = load_taxonomy()
    ids = [t for t in taxonomy.ids if not core_only or t in CORE_THEMES]
    index = PhraseIndex([taxonomy[t].phrases for t in ids])
    return [[ids[k] for k, n in enumerate(index.counts(title)) if n]
            for title in title_lemma_lists]


def feed_pool(n: int, theme_ids: list[str]) -> tuple[np.ndarray, list[list[int]]]:
    """A uniform feed sample (seed 1, so not tied to representation samples) as model rows,
    with each paper's category themes."""
    papers: list[FeedPaper] = sample_feed(list(read_feed()), n, seed=1)
    index = {t: k for k, t in enumerate(theme_ids)}
    table = np.empty((len(papers), 2), dtype=object)
    for row, paper in enumerate(papers):
        table[row] = paper.title, paper.abstract
    return table, [sorted(index[t] for t in category_themes(p.categories)) for p in papers]


def build(design: StreamDesign, taxonomy: Taxonomy, seed: int = 0):
    params = dict(design.params)
    if isinstance(design.representation, tuple):  # ((name, weight), ...): a stack
        params["features__representation"] = StackedRepresentation(
            [FeedRepresentation.load(representation(name)) for name, _ in design.representation],
            [weight for _, weight in design.representation])
    elif design.representation:
        params["features__representation"] = FeedRepresentation.load(
            representation(design.representation))
    if design.idf_sample:
        params["features__idf_reference"] = feed_document_frequencies(design.idf_sample)
    model = build_model(taxonomy, classifier__random_state=seed, **params)
    if design.augment is None:
        return model
    pool, pool_themes = feed_pool(design.pool, list(taxonomy.ids))
    return FeedAugmented(model, pool=pool, pool_themes=pool_themes, seed=seed, **design.augment)


def run(name: str, design: StreamDesign, taxonomy: Taxonomy, seed_docs: list[Document],
        arxiv_docs: list[Document], unlabelled: list[Document], protocols: tuple[str, ...],
        seed: int = 0, extra_docs: Sequence[Document] = (), extra_weight: float = 1.0,
        scores_dir: Path | None = None) -> dict:
    """One design's cross-validated metrics; ``extra_docs`` (e.g. labelled feed papers) join
    every training fold of both protocols at ``extra_weight`` and are never scored. With
    ``scores_dir``, the out-of-fold scores and labels are saved there too
    (:func:`training.experiments.averaging.save_scores`) for combining designs afterwards."""
    ids = list(taxonomy.ids)
    model = build(design, taxonomy, seed)
    pool = UnlabelledPapers(fields_of(unlabelled))
    result: dict = {"design": name, "description": design.description,
                    "representation": design.representation,
                    "params": {k: v for k, v in design.params.items()},
                    "augment": design.augment}

    def unscored(docs: list[Document], weights: np.ndarray) -> ExtraData:
        return ExtraData(fields_of(docs), label_matrix([d.tags for d in docs], ids), weights)

    extra_weights = np.full(len(extra_docs), extra_weight)
    # protocol -> (the scored papers, the papers that join every training fold unscored)
    runs: dict[str, tuple[list[Document], ExtraData | None]] = {}
    if "arxiv" in protocols:
        runs["arxiv"] = (arxiv_docs, unscored([*seed_docs, *extra_docs],
                                              np.r_[np.ones(len(seed_docs)), extra_weights]))
    if "all" in protocols:
        runs["all"] = (seed_docs + arxiv_docs,
                       unscored(list(extra_docs), extra_weights) if extra_docs else None)
    for protocol, (docs, extra) in runs.items():
        started = time.perf_counter()
        Y = label_matrix([d.tags for d in docs], ids)
        cv = cross_validate(model, fields_of(docs), Y, ids, seed=seed, extra=extra,
                            unlabelled=pool)
        result[protocol] = protocol_result(cv, started, Y, ids)
        if scores_dir is not None:
            save_scores(scores_dir, name, protocol, seed, cv.scores, Y)
    return result


def throughput(design: StreamDesign, taxonomy: Taxonomy, docs: list[Document],
               unlabelled: list[Document], n: int = 3000, repeats: int = 3) -> dict:
    """predict_proba docs/s in this one process (one core) on ``n`` unlabelled abstracts."""
    ids = list(taxonomy.ids)
    model = build(StreamDesign(design.description, design.representation, design.params),
                  taxonomy)
    started = time.perf_counter()
    model.fit(fields_of(docs), label_matrix([d.tags for d in docs], ids),
              unlabelled=UnlabelledPapers(fields_of(unlabelled)))
    fit_s = time.perf_counter() - started
    records = [{"title": d.title, "abstract": d.abstract} for d in unlabelled[:n]]
    return timed_scoring(model, records, fit_s, repeats)


def save_design(name: str, design: StreamDesign, taxonomy: Taxonomy, docs: list[Document],
                unlabelled: list[Document], out: Path, seed: int = 0) -> None:
    """Fit a representation design on ``docs`` through ``train_tagger`` (no CV) and save it
    with ``save_model``: the same artifact ``make model`` would write for it."""
    from tagger.artifact import save_model
    from tagger.training.fit import train_tagger

    rep = (FeedRepresentation.load(representation(design.representation))
           if design.representation else None)
    started = time.perf_counter()
    tagger, facts = train_tagger(docs, taxonomy, folds=0, seed=seed, params=design.params,
                                 unlabelled=unlabelled, representation=rep)
    save_model(tagger, out, facts)
    print(f"saved {name} to {out} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.experiments.stream",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--design", action="append", metavar="NAME", default=[])
    parser.add_argument("--build", action="append", metavar="REPRESENTATION", default=[],
                        help="fit (and cache) a feed representation")
    parser.add_argument("--to", type=Path, metavar="FILE",
                        help="with one --build: also copy the fitted file here (e.g. "
                        "tagger/data/feed_representation.npz)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--protocol", action="append", choices=["arxiv", "all", "none"])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write one JSON per design")
    parser.add_argument("--save-model", type=Path, metavar="DIR",
                        help="fit each design on seed + arXiv (no CV) and save it as a model "
                        "directory DIR/<design> (for tagger tag --model, e.g. bulk timing)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scores", type=Path, metavar="DIR",
                        help="also save each design's out-of-fold scores here, for "
                        "python -m training.experiments.averaging")
    parser.add_argument("--extra-labels", type=Path, metavar="FILE",
                        help="{id, tags} labels of feed papers (text read from the feed): they "
                        "join every training fold and are never scored")
    parser.add_argument("--extra-weight", type=float, default=1.0,
                        help="sample weight of the --extra-labels papers")
    args = parser.parse_args(argv)
    if args.list:
        for name, design in DESIGNS.items():
            print(f"{name:20} {design.description}")
        for name, spec in REPRESENTATIONS.items():
            print(f"representation {name:14} {spec}")
        return 0
    unknown = [n for n in args.design if n not in DESIGNS] + [
        n for n in args.build if n not in REPRESENTATIONS]
    if unknown:
        parser.error(f"unknown design/representation(s): {', '.join(unknown)} (see --list)")
    if args.to and len(args.build) != 1:
        parser.error("--to needs exactly one --build")
    for name in args.build:
        path = representation(name)
        if args.to:
            shutil.copyfile(path, args.to)
            print(f"copied {path} to {args.to}", file=sys.stderr)
    if not args.design:
        return 0
    taxonomy = load_taxonomy()
    seed_docs, arxiv_docs = load_sets(args.shared)
    unlabelled = list(read_documents(args.shared / "corpus" / "unlabelled.jsonl",
                                     on_error=lambda error: None))
    protocols = tuple(p for p in args.protocol or ("arxiv", "all") if p != "none")
    extra_docs = (labelled_feed_papers(read_labels_by_id(args.extra_labels), read_feed())
                  if args.extra_labels else [])
    if extra_docs:
        check_tags(extra_docs, taxonomy)
    if args.save_model:
        for name in args.design:
            save_design(name, DESIGNS[name], taxonomy, seed_docs + arxiv_docs, unlabelled,
                        args.save_model / name, args.seed)
    results = []
    for name in args.design:
        if not protocols and not args.throughput:
            break
        result = run(name, DESIGNS[name], taxonomy, seed_docs, arxiv_docs, unlabelled,
                     protocols, args.seed, extra_docs, args.extra_weight, args.scores)
        if extra_docs:
            result["extra_labels"] = {"file": str(args.extra_labels), "papers": len(extra_docs),
                                      "weight": args.extra_weight}
        if args.throughput:
            result["throughput"] = throughput(DESIGNS[name], taxonomy, seed_docs + arxiv_docs,
                                              unlabelled)
        results.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print_tables(results, protocols, args.throughput)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
