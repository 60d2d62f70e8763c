"""``tagger queue add|next``: fill the review queue and ask which papers to review next.

``next`` scores the queued, unreviewed papers with the model and ranks them by an
active-learning strategy (:mod:`tagger.review.strategies`; the default won the simulation in
``training/ACTIVE_LEARNING.md``). Output: one JSON line per paper, most informative first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tagger.cli.common import (
    EXIT_USAGE,
    CommandError,
    SkipReporter,
    add_model_argument,
    exit_status,
    load_model_or_fail,
)
from tagger.cli.labels import add_db_argument, open_store_or_fail
from tagger.corpus import CorpusError, read_documents
from tagger.review.strategies import DEFAULT_STRATEGY, STRATEGIES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "queue", help="queue papers for review and pick the next ones (active learning)")
    commands = parser.add_subparsers(dest="queue_command", metavar="ACTION")
    add = commands.add_parser("add", help="load papers to review (JSON Lines, CSV, text)")
    add.add_argument("files", nargs="+", metavar="FILE")
    add_db_argument(add)
    add.set_defaults(handler=run_add)
    nxt = commands.add_parser("next", help="the papers whose review teaches the model most")
    nxt.add_argument("-n", type=int, default=20, metavar="N", help="batch size (default 20)")
    nxt.add_argument("--theme", metavar="ID", help="rank by this theme only")
    nxt.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                     help=f"default {DEFAULT_STRATEGY}")
    nxt.add_argument("--seed", type=int, default=0, help="tie-break order (default 0)")
    add_db_argument(nxt)
    add_model_argument(nxt)
    nxt.set_defaults(handler=run_next)
    parser.set_defaults(handler=lambda args: parser.print_help(sys.stderr) or EXIT_USAGE)


def run_add(args) -> int:
    reporter = SkipReporter()
    store = open_store_or_fail(args.db)
    total = new = 0
    try:
        for path in args.files:
            try:
                documents = list(read_documents(path, on_error=reporter))
            except CorpusError as error:
                raise CommandError(str(error)) from None
            source = "(stdin)" if path == "-" else Path(path).name
            new += store.add_papers(documents, queued=True, source=source)
            total += len(documents)
        in_queue = store.progress("")["in_queue"]
    finally:
        store.close()
    print(f"queued {total} papers ({new} new), {in_queue} waiting for review, "
          f"skipped {reporter.skipped}", file=sys.stderr)
    return exit_status(total, reporter.skipped)


def run_next(args) -> int:
    from tagger.review.queue import next_batch

    if args.n < 1:
        raise CommandError("-n must be at least 1", EXIT_USAGE)
    tagger = load_model_or_fail(args.model)
    if args.theme and args.theme not in tagger.taxonomy.ids:
        raise CommandError(f"unknown theme {args.theme!r}; `tagger themes` lists them",
                           EXIT_USAGE)
    store = open_store_or_fail(args.db)
    try:
        batch = next_batch(store, tagger, n=args.n, strategy=args.strategy, theme=args.theme,
                           seed=args.seed)
    finally:
        store.close()
    for item in batch:
        print(json.dumps(item, ensure_ascii=False))
    print(f"{len(batch)} papers to review ({args.strategy}, seed {args.seed})", file=sys.stderr)
    return 0
