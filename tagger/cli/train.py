"""``tagger train``: fit a model on labelled files and write a model directory."""

from __future__ import annotations

import sys
from pathlib import Path

from tagger.artifact import ModelError, save_model, sha256_file
from tagger.cli.common import EXIT_USAGE, CommandError, SkipReporter, exit_status
from tagger.corpus import CorpusError, Document, read_documents
from tagger.taxonomy import TaxonomyError, load_taxonomy


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model on labelled abstracts")
    parser.add_argument("--data", action="append", required=True, metavar="FILE",
                        help="labelled JSON Lines or CSV (id, title, abstract, tags); repeatable")
    parser.add_argument("--taxonomy", metavar="FILE", help="taxonomy TOML (default: packaged)")
    parser.add_argument("--out", metavar="DIR", default="model",
                        help="model directory to write (default: ./model)")
    parser.add_argument("--cv", type=int, default=5, metavar="K",
                        help="cross-validation folds for thresholds and metrics (default 5; "
                        "0 skips)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed")
    parser.add_argument("--name", default=None, help="model name (default: the --out folder)")
    parser.add_argument("--silver", action="append", default=[], metavar="FILE",
                        help="silver-labelled JSON Lines from `tagger weak-label`, added to "
                        "training with --silver-weight (repeatable; never used for metrics)")
    parser.add_argument("--selected", action="append", default=[], metavar="FILE",
                        help="gold labels of a selected sample (boundary, keyword or "
                        "review-queue picks; a 'selection' field per record): they train at "
                        "--selected-weight, and only records with selection 'random' tune "
                        "thresholds (repeatable; never used for metrics)")
    parser.add_argument("--selected-weight", type=float, default=1.0, metavar="W",
                        help="sample weight of --selected records, in (0, 1] (default 1.0)")
    parser.add_argument("--no-theme-share", type=float, default=None, metavar="S",
                        help="share of papers without any theme in the stream you will tag, "
                        "in (0, 1) (e.g. 0.55 for arXiv): such training papers are weighted "
                        "to that share when thresholds are tuned (default: as they come)")
    parser.add_argument("--unlabelled", action="append", default=[], metavar="FILE",
                        help="abstracts without tags (JSON Lines, CSV or text): the features' "
                        "LSA block learns word co-occurrence from them (repeatable)")
    parser.add_argument("--representation", metavar="FILE",
                        help="a representation learnt from the arXiv feed (.npz, e.g. the "
                        "packaged tagger/data/category_representation.npz): an extra feature "
                        "block, stored in the model directory")
    parser.add_argument("--representation-weight", type=float, default=1.0, metavar="W",
                        help="scale of that block (default 1.0)")
    parser.add_argument("--silver-weight", type=float, default=0.3, metavar="W",
                        help="sample weight of silver documents, in (0, 1] (default 0.3)")
    parser.add_argument("--learning-curve", type=int, nargs="+", default=[], metavar="N",
                        help="also cross-validate with only N training abstracts per fold "
                        "(one point each) for the model card's learning curve")
    parser.add_argument("--labels-db", metavar="URL",
                        help="also train on the reviewed labels of this label store (SQLite "
                        "path or URL); they replace --data records with the same id")
    parser.set_defaults(handler=run)


def _read_inputs(
    paths: list[str], reporter: SkipReporter, sources: list[dict], labelled: bool = False,
    role: str | None = None,
) -> list[Document]:
    """Read every file of one role, appending a manifest entry per file to ``sources``
    (name, record count, SHA-256; ``role`` flags silver or unlabelled files)."""
    documents: list[Document] = []
    for path in paths:
        try:
            docs = list(read_documents(path, on_error=reporter, labelled=labelled))
        except CorpusError as error:
            raise CommandError(str(error)) from None
        documents += docs
        stdin = path == "-"
        entry = {"file": "(stdin)" if stdin else Path(path).name, "records": len(docs),
                 "sha256": None if stdin else sha256_file(Path(path))}
        if role:
            entry[role] = True
        sources.append(entry)
    return documents


def _read_representation(path: str | None):
    """The ``--representation`` file, or a CLI error naming it."""
    if path is None:
        return None
    from tagger.representations import FeedRepresentation
    try:
        return FeedRepresentation.load(Path(path))
    except (OSError, ValueError) as error:
        raise CommandError(f"{path}: not a usable representation: {error}") from None


def run(args) -> int:
    from tagger.training.fit import train_tagger

    if args.cv == 1 or args.cv < 0:
        raise CommandError("--cv must be 0 (no cross-validation) or at least 2", EXIT_USAGE)
    try:
        taxonomy = load_taxonomy(args.taxonomy)
    except TaxonomyError as error:
        raise CommandError(str(error)) from None
    if not 0 < args.silver_weight <= 1:
        raise CommandError("--silver-weight must be in (0, 1]", EXIT_USAGE)
    if args.no_theme_share is not None and not 0 < args.no_theme_share < 1:
        raise CommandError("--no-theme-share must be in (0, 1)", EXIT_USAGE)
    if not 0 < args.selected_weight <= 1:
        raise CommandError("--selected-weight must be in (0, 1]", EXIT_USAGE)
    if args.learning_curve and args.cv < 2:
        raise CommandError("--learning-curve needs cross-validation (--cv 2 or more)", EXIT_USAGE)
    reporter = SkipReporter()
    sources: list[dict] = []
    documents = _read_inputs(args.data, reporter, sources, labelled=True)
    if args.labels_db:  # the review loop (issue 13)
        from tagger.cli.labels import with_reviewed_labels
        documents = with_reviewed_labels(args.labels_db, taxonomy, documents, sources)
    silver = _read_inputs(args.silver, reporter, sources, labelled=True, role="silver")
    selected = _read_inputs(args.selected, reporter, sources, labelled=True, role="selected")
    unlabelled = _read_inputs(args.unlabelled, reporter, sources, role="unlabelled")
    if len(documents) < max(args.cv, 2):
        raise CommandError(f"only {len(documents)} usable training records")
    representation = _read_representation(args.representation)
    also = f" + {len(selected)} selected" if selected else ""
    print(f"training on {len(documents)} records{also} ({args.cv}-fold CV)...", file=sys.stderr)
    try:
        tagger, facts = train_tagger(documents, taxonomy, folds=args.cv, seed=args.seed,
                                     silver=silver, silver_weight=args.silver_weight,
                                     learning_curve_sizes=args.learning_curve,
                                     unlabelled=unlabelled, representation=representation,
                                     selected=selected, selected_weight=args.selected_weight,
                                     no_theme_share=args.no_theme_share,
                                     params={"features__representation_weight":
                                             args.representation_weight})
    except ValueError as error:
        raise CommandError(str(error)) from None
    out = Path(args.out)
    try:
        save_model(tagger, out, {"name": args.name or out.resolve().name,
                                 "training_data": sources, **facts})
    except (ModelError, OSError) as error:  # e.g. --out is a publish symlink or unwritable
        raise CommandError(f"cannot write the model: {error}") from None
    metrics = facts.get("cv_metrics")
    if metrics:
        print(f"cross-validated micro-F1 {metrics['micro_f1']:.3f}, "
              f"macro-F1 {metrics['macro_f1']:.3f}", file=sys.stderr)
    print(f"wrote {out} (trained {len(documents)}, skipped {reporter.skipped})", file=sys.stderr)
    return exit_status(len(documents), reporter.skipped)
