"""Time-split evaluation: train on the past, score on the future, the way the feed is used.

The protocol (rolling origin, grouped by period): the labelled documents are grouped by
``Document.month`` (or its quarter); the newest ``splits`` windows of ``test_periods`` periods
each are scored, each by a model trained only on documents strictly older than the window's
first period (unlabelled documents for the LSA block obey the same rule). Documents without a
month are never used: nothing guarantees they are older than what is scored. So no model ever
trains on a paper newer than, or from the same period as, a paper it scores (tested).

``evaluate_by_period`` is the other half: one model's F1 per theme per period of labelled
documents (``tagger evaluate --by month``).

On today's data the feed labels (``feed_train.jsonl``, 2024-01..2026-04) carry months; the
seed and arXiv gold sets do not, but were labelled before the feed began, so ``--past`` adds
them to every training window. Train on everything before 2026-01, score 2026-01..04::

    python -m tagger.training.time_split --data ../shared/corpus/labels/feed_train.jsonl \
        --past ../shared/corpus/labels/seed.jsonl --past ../shared/corpus/labels/arxiv_train.jsonl \
        --past-unlabelled ../shared/corpus/unlabelled.jsonl \
        --representation tagger/data/category_representation.npz --splits 1 --test-periods 4

``--dates FILE`` attaches months to records by id. See "Time-split protocol" in
``training/EXPERIMENTS.md``.

    python -m tagger.training.time_split --data labelled.jsonl [--dates dates.jsonl] \\
        [--unlabelled feed.jsonl.gz] [--by month] [--splits 3] [--test-periods 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tagger.corpus import CorpusError, Document, open_binary, read_documents
from tagger.training.drift import MONTH, document_month, period_of
from tagger.training.feed import read_id_table
from tagger.training.metrics import label_matrix, multilabel_report

UNDATED = "(no month)"


def document_period(doc: Document, by: str = "month") -> str:
    """The document's period, or :data:`UNDATED`."""
    month = document_month(doc)
    return period_of(month, by) if MONTH.match(month) else UNDATED


@dataclass(frozen=True)
class TimeSplit:
    """One fold of the protocol: row indices to train on and to score."""

    train: list[int]
    test: list[int]
    train_periods: list[str]
    test_periods: list[str]


def time_splits(periods: Sequence[str], splits: int = 1, test_periods: int = 1,
                min_train: int = 1) -> list[TimeSplit]:
    """Rolling-origin splits over per-document periods (``UNDATED`` rows are never used).

    The dated periods, sorted, are cut from the newest end into ``splits`` windows of
    ``test_periods`` periods; each window is scored by training on every row of an earlier
    period. Windows whose training set would have fewer than ``min_train`` rows are dropped.
    Returned oldest window first."""
    if splits < 1 or test_periods < 1:
        raise ValueError("splits and test periods must be at least 1")
    dated = sorted({p for p in periods if p != UNDATED})
    result = []
    for k in range(splits):
        end = len(dated) - k * test_periods
        start = end - test_periods
        if start < 1:
            break
        window = dated[start:end]
        train = [i for i, p in enumerate(periods) if p != UNDATED and p < window[0]]
        test = [i for i, p in enumerate(periods) if p in window]
        if len(train) < min_train:
            break
        result.append(TimeSplit(train, test, sorted({periods[i] for i in train}), window))
    return result[::-1]


def _evaluate_split(documents: Sequence[Document], split: TimeSplit, taxonomy,
                    unlabelled: Sequence[Document], by: str, seed: int,
                    train_options: dict, past: Sequence[Document] = (),
                    past_unlabelled: Sequence[Document] = ()) -> tuple[np.ndarray, dict]:
    from tagger.training.fit import train_tagger

    first = split.test_periods[0]
    train_docs = [*past, *(documents[i] for i in split.train)]
    pool = [d for d in unlabelled if document_period(d, by) not in (UNDATED,)
            and document_period(d, by) < first] + list(past_unlabelled)
    tagger, _facts = train_tagger(train_docs, taxonomy, folds=0, seed=seed, unlabelled=pool,
                                  n_jobs=1, **train_options)
    scores = tagger.score([documents[i] for i in split.test])
    return scores, {"train_documents": len(train_docs), "unlabelled_documents": len(pool),
                    "train_periods": [split.train_periods[0], split.train_periods[-1]],
                    "test_periods": split.test_periods, "test_documents": len(split.test)}


def run_time_split(documents: Sequence[Document], taxonomy, by: str = "month",
                   splits: int = 1, test_periods: int = 1,
                   unlabelled: Sequence[Document] = (), seed: int = 0,
                   min_train: int = 20, train_options: dict | None = None,
                   past: Sequence[Document] = (),
                   past_unlabelled: Sequence[Document] = ()) -> dict:
    """Train and score every split; per-split and pooled metrics (each scored document is
    scored once, by the model of its window). ``train_options`` go to
    :func:`tagger.training.fit.train_tagger` (``params``, ``representation``, ``silver``...),
    so any design can be compared on this protocol; it is the caller's job that what they
    bring (a representation learnt from the feed, silver labels) is no newer than the
    scored periods either. ``past`` (labelled) and ``past_unlabelled`` documents carry no
    month but are known to predate every scored period (gold sets labelled before the feed
    began): they join every training window."""
    periods = [document_period(d, by) for d in documents]
    undated = periods.count(UNDATED)
    if undated == len(documents):
        raise ValueError(f"none of the {len(documents)} labelled documents has a month: "
                         "there is no past and future to split (attach months with --dates)")
    plan = time_splits(periods, splits, test_periods, min_train=min_train)
    if not plan:
        raise ValueError("too few dated periods: need at least one period to score and "
                         f"{min_train} older documents to train on")
    ids = list(taxonomy.ids)
    Y = label_matrix([d.tags or () for d in documents], ids)
    rows, pooled_rows, pooled_scores = [], [], []
    for split in plan:
        scores, facts = _evaluate_split(documents, split, taxonomy, unlabelled, by, seed,
                                        train_options or {}, past, past_unlabelled)
        report = multilabel_report(Y[split.test], scores >= 0.5, ids)
        rows.append({**facts, "micro_f1": report["micro_f1"], "macro_f1": report["macro_f1"],
                     "no_theme_fpr": report["no_theme_false_positive_rate"],
                     "per_theme_f1": {t: r["f1"] for t, r in report["per_theme"].items()}})
        pooled_rows += split.test
        pooled_scores.append(scores)
    pooled = multilabel_report(Y[pooled_rows], np.vstack(pooled_scores) >= 0.5, ids)
    return {"by": by, "documents": len(documents), "undated_documents": undated,
            "past_documents": len(past), "splits": rows, "pooled": pooled}


def evaluate_by_period(tagger, documents: Sequence[Document], by: str = "month") -> dict:
    """One model's metrics per period of labelled documents (undated ones grouped last as
    :data:`UNDATED`): per-theme precision/recall/F1 and micro/macro F1 for each period."""
    ids = list(tagger.taxonomy.ids)
    periods = [document_period(d, by) for d in documents]
    Y = label_matrix([d.tags or () for d in documents], ids)
    predicted = tagger.score(documents) >= 0.5
    order = sorted(set(periods) - {UNDATED}) + ([UNDATED] if UNDATED in periods else [])
    rows = []
    for period in order:
        index = [i for i, p in enumerate(periods) if p == period]
        report = multilabel_report(Y[index], predicted[index], ids)
        rows.append({"period": period, "n_documents": len(index),
                     "micro_f1": report["micro_f1"], "macro_f1": report["macro_f1"],
                     "per_theme": report["per_theme"]})
    return {"by": by, "periods": rows}


def _cell(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.2f}"


def format_by_period(result: dict, theme_ids: Sequence[str]) -> str:
    """Periods as rows, micro/macro F1 then one F1 column per theme that has support."""
    shown = [t for t in theme_ids
             if any(r["per_theme"][t]["support"] for r in result["periods"])]
    lines = ["F1 by " + result["by"] + " (columns: " + ", ".join(
        f"{k + 1}={t}" for k, t in enumerate(shown)) + ")",
        f"{'period':11} {'docs':>5} {'micro':>5} {'macro':>5} "
        + " ".join(f"{k + 1:>5}" for k in range(len(shown)))]
    for row in result["periods"]:
        lines.append(f"{row['period']:11} {row['n_documents']:5d} {_cell(row['micro_f1'])} "
                     f"{_cell(row['macro_f1'])} "
                     + " ".join(_cell(row["per_theme"][t]["f1"]) for t in shown))
    return "\n".join(lines)


def attach_months(documents: Sequence[Document], dates: Path) -> list[Document]:
    """Documents with ``month`` set from a JSON Lines file of ``{"id", "month"}`` records (an
    id -> month side table, for labelled files that carry no dates themselves)."""
    months: dict[str, str] = {}
    for line_number, doc_id, value in read_id_table(dates, "month"):
        month = str(value)
        if not MONTH.match(month):
            raise ValueError(f"{dates}:{line_number}: bad month {month!r} (YYYY-MM)")
        months[doc_id] = month
    return [replace(d, month=months[d.id]) if d.id in months else d for d in documents]


def format_time_split(result: dict, core: Sequence[str] = ()) -> str:
    lines = [f"{'train periods':23} {'n':>5} {'test':17} {'n':>4} {'micro':>5} {'macro':>5} "
             f"{'FPR':>5}"]
    for row in result["splits"]:
        train = f"{row['train_periods'][0]}..{row['train_periods'][1]}"
        test = f"{row['test_periods'][0]}..{row['test_periods'][-1]}"
        lines.append(f"{train:23} {row['train_documents']:5d} {test:17} "
                     f"{row['test_documents']:4d} {row['micro_f1']:5.3f} {row['macro_f1']:5.3f} "
                     f"{row['no_theme_fpr']:5.1%}")
    pooled = result["pooled"]
    lines.append(f"pooled over {pooled['n_documents']} scored documents: micro-F1 "
                 f"{pooled['micro_f1']:.3f}, macro-F1 {pooled['macro_f1']:.3f}, no-theme FPR "
                 f"{pooled['no_theme_false_positive_rate']:.1%}; "
                 f"{result['undated_documents']} undated documents not used, "
                 f"{result.get('past_documents', 0)} older undated ones (--past) in every "
                 "training window")
    return "\n".join(lines)


YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")


def date_evidence(paths: Sequence[str]) -> dict:
    """What dates labelled files honestly carry, per file and record ``source`` field: how many
    records have a month, how many mention a year in title or abstract (a lower bound on when
    the paper was written, never its month), and the latest years mentioned. Reads the raw
    JSON Lines records, since the ``source`` field is not part of a :class:`Document`."""
    groups: dict[str, dict] = {}
    for path in paths:
        with open_binary(str(path)) as stream:
            for raw in stream:
                if not raw.strip():
                    continue
                record = json.loads(raw)
                key = f"{Path(path).name} {record.get('source') or ''}".strip()
                group = groups.setdefault(key, {"records": 0, "with_month": 0,
                                                "mention_a_year": 0,
                                                "latest_year_mentioned": Counter()})
                group["records"] += 1
                group["with_month"] += bool(MONTH.match(str(record.get("month") or "")))
                text = f"{record.get('title') or ''} {record.get('abstract') or ''}"
                years = [int(y) for y in YEAR.findall(text)]
                if years:
                    group["mention_a_year"] += 1
                    group["latest_year_mentioned"][max(years)] += 1
    for group in groups.values():
        group["latest_year_mentioned"] = dict(sorted(group["latest_year_mentioned"].items(),
                                                     reverse=True))
    return groups


def format_date_evidence(groups: dict) -> str:
    lines = [f"{'source':40} {'records':>7} {'month':>5} {'year':>5}  latest year mentioned"]
    for source, g in sorted(groups.items()):
        years = ", ".join(f"{y}: {n}" for y, n in list(g["latest_year_mentioned"].items())[:4])
        lines.append(f"{source:40} {g['records']:7d} {g['with_month']:5d} "
                     f"{g['mention_a_year']:5d}  {years}")
    return "\n".join(lines)


def _read(paths: Sequence[str], labelled: bool) -> list[Document]:
    documents: list[Document] = []
    for path in paths:
        documents += list(read_documents(path, labelled=labelled))
    return documents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagger.training.time_split",
        description="Train on older labelled papers, score on the newest periods only.")
    parser.add_argument("--data", action="append", required=True, metavar="FILE",
                        help="labelled JSON Lines or CSV with 'month' (YYYY-MM); repeatable")
    parser.add_argument("--dates", type=Path, metavar="FILE",
                        help="JSON Lines {id, month}: months for records that carry none")
    parser.add_argument("--unlabelled", action="append", default=[], metavar="FILE",
                        help="dated unlabelled papers for the LSA block (only months before "
                        "each test window are used); repeatable")
    parser.add_argument("--past", action="append", default=[], metavar="FILE",
                        help="labelled files without months that predate every scored period "
                        "(e.g. gold sets labelled before the feed): they join every training "
                        "window; repeatable")
    parser.add_argument("--past-unlabelled", action="append", default=[], metavar="FILE",
                        help="undated unlabelled papers older than every scored period, for "
                        "the LSA block; repeatable")
    parser.add_argument("--representation", type=Path, metavar="FILE",
                        help="a feed representation (.npz) as the extra feature block, as "
                        "`tagger train --representation` (the shipped model uses "
                        "tagger/data/category_representation.npz)")
    parser.add_argument("--taxonomy", type=Path, help="taxonomy TOML (default: packaged)")
    parser.add_argument("--by", choices=("month", "quarter"), default="month")
    parser.add_argument("--splits", type=int, default=1,
                        help="number of rolling test windows, newest first (default 1)")
    parser.add_argument("--test-periods", type=int, default=1,
                        help="periods per test window (default 1)")
    parser.add_argument("--min-train", type=int, default=20,
                        help="fewest training documents a window needs (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--date-evidence", action="store_true",
                        help="only report what dates the records carry (per source): months, "
                        "years mentioned in the text")
    args = parser.parse_args(argv)
    from tagger.taxonomy import TaxonomyError, load_taxonomy

    try:
        taxonomy = load_taxonomy(args.taxonomy) if args.taxonomy else load_taxonomy()
        if args.date_evidence:
            evidence = date_evidence(args.data)
            print(json.dumps(evidence, indent=2) if args.json
                  else format_date_evidence(evidence))
            return 0
        documents = _read(args.data, labelled=True)
        if args.dates:
            documents = attach_months(documents, args.dates)
        unlabelled = _read(args.unlabelled, labelled=False)
        options = {}
        if args.representation:
            from tagger.representations import FeedRepresentation

            options["representation"] = FeedRepresentation.load(args.representation)
        result = run_time_split(documents, taxonomy, by=args.by, splits=args.splits,
                                test_periods=args.test_periods, unlabelled=unlabelled,
                                seed=args.seed, min_train=args.min_train,
                                train_options=options,
                                past=_read(args.past, labelled=True),
                                past_unlabelled=_read(args.past_unlabelled, labelled=False))
    except (CorpusError, TaxonomyError, ValueError, OSError) as error:  # JSON errors too
        print(f"time_split: error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else format_time_split(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
