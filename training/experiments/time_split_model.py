"""The time split as files, for ``tagger evaluate --by month``: a model trained the way
``make model`` trains (same files, same design) on everything labelled before 2026-01, and the
feed labels of 2026-01..04 it is scored on. Both go under ``build/time-split/`` (the labelled
file holds the authors' abstracts, so it stays out of the repo)::

    python -m training.experiments.time_split_model
    tagger evaluate --model build/time-split/model \\
        --data build/time-split/feed-2026-01..04.jsonl --by month
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tagger.artifact import save_model
from tagger.corpus import read_documents
from tagger.representations import FeedRepresentation
from tagger.taxonomy import load_taxonomy
from tagger.training.fit import train_tagger

ROOT = Path(__file__).resolve().parents[2]
START = "2026-01"
NO_THEME_SHARE = 0.55  # as make model: the arXiv stream's share of papers without a theme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.experiments.time_split_model",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "time-split")
    parser.add_argument("--start", default=START, help="first scored month (YYYY-MM)")
    args = parser.parse_args(argv)
    labels = args.shared / "corpus" / "labels"
    gold = [d for name in ("seed.jsonl", "arxiv_train.jsonl")
            for d in read_documents(labels / name, labelled=True)]
    feed_path = labels / "feed_train.jsonl"
    feed = list(read_documents(feed_path, labelled=True))
    past = [d for d in feed if d.month and d.month < args.start]
    future_ids = {d.id for d in feed if d.month >= args.start}
    unlabelled = list(read_documents(args.shared / "corpus" / "unlabelled.jsonl"))
    representation = FeedRepresentation.load(ROOT / "tagger" / "data" /
                                             "category_representation.npz")
    tagger, facts = train_tagger(gold + past, load_taxonomy(), folds=0, seed=0,
                                 unlabelled=unlabelled, representation=representation,
                                 no_theme_share=NO_THEME_SHARE)
    args.out.mkdir(parents=True, exist_ok=True)
    save_model(tagger, args.out / "model", {
        "name": "time-split", "training_data": [
            {"file": "seed.jsonl + arxiv_train.jsonl", "records": len(gold)},
            {"file": f"feed_train.jsonl before {args.start}", "records": len(past)}], **facts})
    months = sorted({d.month for d in feed if d.month >= args.start})
    scored = args.out / f"feed-{months[0]}..{months[-1][-2:]}.jsonl"
    with open(feed_path, encoding="utf-8") as source, open(scored, "w", encoding="utf-8") as out:
        for line in source:
            if json.loads(line)["id"] in future_ids:
                out.write(line)
    print(f"trained on {len(gold)} gold + {len(past)} feed papers before {args.start}; "
          f"wrote {args.out / 'model'} and {scored} ({len(future_ids)} papers)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
