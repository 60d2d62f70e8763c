"""``tagger ingest``: store papers in the stream, tagged by the current model.

Reads what ``tagger tag`` reads (JSON Lines, the Kaggle arXiv snapshot's lines, CSV, plain
text, gzip, stdin) plus arXiv Atom / RSS listings saved to a file; each paper is stored once
(a re-ingest only moves its ``seen`` time; a changed abstract is a new version). The last
stderr line is ``stored N new, V new versions, U unchanged, skipped M``; exit status as
``tagger tag``: 0 all stored, 3 some records skipped, 2 usage, 1 nothing could be done.
"""

from __future__ import annotations

import sys

from tagger.cli.common import (
    EXIT_USAGE,
    CommandError,
    add_stream_arguments,
    check_stream_arguments,
    exit_status,
    resolved_model_dir,
    store_errors,
)
from tagger.cli.tag import INPUT_FORMATS, _cores, limits_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "ingest", help="store papers in the paper stream, tagged by the current model",
        description="Store papers once, with the current model's tags and scores, for the "
        "theme feeds and the daily digest.")
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="JSON Lines (also Kaggle arXiv-snapshot lines), CSV, plain-text "
                        "or arXiv Atom/RSS listing (.xml) files, optionally .gz, or globs; "
                        "- or nothing for stdin")
    parser.add_argument("--format-in", dest="fmt_in", choices=INPUT_FORMATS, default=None,
                        help="input format (default: from each file name; stdin is sniffed)")
    parser.add_argument("--max-abstract-chars", type=int, default=None, metavar="N",
                        help="skip (and report) records with a longer abstract (default "
                        "$TAGGER_MAX_ABSTRACT_CHARS, else 20000)")
    add_stream_arguments(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    check_stream_arguments(args)
    if args.max_abstract_chars is not None and args.max_abstract_chars < 1:
        raise CommandError("--max-abstract-chars must be at least 1", status=EXIT_USAGE)
    from tagger.cli.startup import trim_tagging_startup

    trim_tagging_startup(local_engine=True)
    from tagger.stream.ingest import IngestJob, run_ingest

    job = IngestJob(inputs=list(args.inputs), model_dir=resolved_model_dir(args.model),
                    db=args.db, jobs=args.jobs or _cores(), batch_size=args.batch_size,
                    compiled=args.compiled, quiet=args.quiet, limits=limits_from_args(args),
                    fmt_in=args.fmt_in)
    with store_errors():
        summary = run_ingest(job)
    counts = summary.counts
    print(f"into {summary.db} with model {summary.model}", file=sys.stderr)
    print(f"stored {counts.new} new, {counts.versions} new versions, {counts.unchanged} "
          f"unchanged, skipped {summary.skipped}", file=sys.stderr)
    return exit_status(summary.stored, summary.skipped)
