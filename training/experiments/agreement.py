"""How far one set of labels agrees with another on the same papers: an annotator's labels
against the gold file, before their labels are trusted as training data.

    python -m training.experiments.agreement --gold GOLD.jsonl --labels MINE.jsonl [--json]

``--gold`` is a labelled file (text and tags); ``--labels`` gives ``{"id", "tags"}`` per line
for some of its papers. Gold is read as the truth: precision is "of the annotator's tags, how
many gold has", recall "of gold's tags, how many the annotator gave".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tagger.corpus import read_documents
from tagger.taxonomy import load_taxonomy
from tagger.training.feed import read_labels_by_id
from tagger.training.metrics import label_matrix, multilabel_report


def agreement(gold: dict[str, Sequence[str]], labels: dict[str, Sequence[str]],
              theme_ids: Sequence[str]) -> dict:
    """``multilabel_report`` of ``labels`` against ``gold`` over the papers both label, plus
    the papers where they differ. Every labelled id must be in ``gold``."""
    missing = [paper_id for paper_id in labels if paper_id not in gold]
    if missing:
        raise ValueError(f"{len(missing)} labelled id(s) not in the gold file, e.g. {missing[0]}")
    ids = list(labels)
    report = multilabel_report(label_matrix([gold[i] for i in ids], theme_ids),
                               label_matrix([labels[i] for i in ids], theme_ids), theme_ids)
    report["differences"] = [{"id": i, "labels": sorted(labels[i]), "gold": sorted(gold[i])}
                             for i in ids if set(labels[i]) != set(gold[i])]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.experiments.agreement",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, required=True, action="append",
                        help="labelled file(s) with the reference tags")
    parser.add_argument("--labels", type=Path, required=True, help="{id, tags} per line")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    gold = {doc.id: doc.tags or () for path in args.gold
            for doc in read_documents(path, labelled=True)}
    try:
        result = agreement(gold, read_labels_by_id(args.labels), list(load_taxonomy().ids))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['n_documents']} papers: micro precision {result['micro_precision']:.2f}, "
          f"recall {result['micro_recall']:.2f}, F1 {result['micro_f1']:.2f}")
    for theme, row in result["per_theme"].items():
        if row["f1"] is not None:
            print(f"  {theme:30} gold {row['support']:3d}  labels {row['predicted']:3d}  "
                  f"F1 {row['f1']:.2f}")
    for row in result["differences"]:
        print(f"  {row['id']}: labels {row['labels']} gold {row['gold']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
