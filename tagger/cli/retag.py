"""``tagger retag``: rescore the stored papers with the current model (after ``tagger
publish``), keeping the previous model's tags for comparison, and print per theme how many
papers are tagged now, gain it, lose it. ``--dry-run`` prints the same table and stores
nothing.
"""

from __future__ import annotations

import sys

from tagger.cli.common import (
    EXIT_OK,
    add_stream_arguments,
    check_stream_arguments,
    resolved_model_dir,
    store_errors,
)
from tagger.cli.tag import _cores


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "retag", help="rescore the stored papers with the current model",
        description="Rescore every stored paper (its latest version) with the current model; "
        "the previous model's tags are kept for comparison.")
    from tagger.cli.digest import SINCE_FORMS

    parser.add_argument("--since", metavar="WHEN", default=None,
                        help=f"only papers first stored since WHEN: {SINCE_FORMS}")
    parser.add_argument("--dry-run", action="store_true",
                        help="only count how many papers would gain or lose each theme")
    add_stream_arguments(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    check_stream_arguments(args)
    from tagger.cli.digest import parse_since
    from tagger.cli.startup import trim_tagging_startup

    since = parse_since(args.since) if args.since else None
    trim_tagging_startup(local_engine=True)
    from tagger.stream.retag import RetagJob, run_retag

    job = RetagJob(model_dir=resolved_model_dir(args.model), db=args.db, since=since,
                   dry_run=args.dry_run, jobs=args.jobs or _cores(), batch_size=args.batch_size,
                   compiled=args.compiled, quiet=args.quiet)
    with store_errors():
        summary = run_retag(job)
    print(summary.table())
    verb = "would rescore" if args.dry_run else "rescored"
    print(f"{verb} {summary.papers} papers with model {summary.model}", file=sys.stderr)
    return EXIT_OK
