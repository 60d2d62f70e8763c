"""``tagger evaluate``: score a model against labelled files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tagger.cli.common import (
    CommandError,
    SkipReporter,
    add_model_argument,
    exit_status,
    load_model_or_fail,
)
from tagger.corpus import CorpusError, read_documents


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="measure a model on labelled abstracts")
    parser.add_argument("--data", action="append", required=True, metavar="FILE",
                        help="labelled JSON Lines or CSV; repeatable")
    add_model_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", metavar="DIR", type=Path,
                        help="also write a reliability diagram and a precision/recall-vs-score "
                        "PNG per theme here")
    parser.add_argument("--by", choices=("month", "quarter"),
                        help="also F1 per theme per period of the records' 'month' field")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from tagger.training.evaluate import evaluate_tagger, format_report

    tagger = load_model_or_fail(args.model)
    reporter = SkipReporter()
    documents = []
    for path in args.data:
        try:
            documents += list(read_documents(path, on_error=reporter, labelled=True))
        except CorpusError as error:
            raise CommandError(str(error)) from None
    if not documents:
        raise CommandError("no usable labelled records")
    from tagger.cli.overlap import overlap_warnings, training_overlap

    overlap = training_overlap(tagger.manifest, args.data, documents)
    for warning in overlap_warnings(overlap):
        print(f"tagger evaluate: {warning}", file=sys.stderr)
    try:
        report = evaluate_tagger(tagger, documents, report_dir=args.report)
    except ValueError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot write the report: {error}") from None
    if args.by:
        from tagger.training.time_split import evaluate_by_period, format_by_period

        report["by_period"] = evaluate_by_period(tagger, documents, by=args.by)
    report["training_overlap"] = overlap
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
        if args.by:
            print("\n" + format_by_period(report["by_period"], tagger.taxonomy.ids))
    if args.report:
        print(f"wrote {len(report['plots'])} plots to {args.report}", file=sys.stderr)
    print(f"evaluated {len(documents)}, skipped {reporter.skipped}", file=sys.stderr)
    return exit_status(len(documents), reporter.skipped)
