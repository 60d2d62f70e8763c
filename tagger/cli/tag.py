"""``tagger tag``: tag files of abstracts, one JSON line per record, in input order."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from itertools import islice

from tagger.artifact import ModelError
from tagger.cli.common import (
    EXIT_FAILURE,
    CommandError,
    SkipReporter,
    add_model_argument,
    exit_status,
    load_model_or_fail,
)
from tagger.corpus import STDIN, CorpusError, Document, read_documents
from tagger.output import AtomicOutput

DEFAULT_BATCH_SIZE = 512


def register(subparsers) -> None:
    parser = subparsers.add_parser("tag", help="tag abstracts from files or stdin")
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="JSON Lines, CSV or plain-text files, optionally .gz; - or nothing "
                        "for JSON Lines on stdin")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write here (atomically) instead of stdout")
    add_model_argument(parser)
    parser.add_argument("--explain", action="store_true",
                        help="add the words and phrases that drove each tag")
    parser.add_argument("--all-scores", action="store_true",
                        help="add every theme's score")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help=f"records scored together (default {DEFAULT_BATCH_SIZE})")
    parser.set_defaults(handler=run)


def _documents(inputs: list[str], reporter: SkipReporter) -> Iterator[Document]:
    for path in inputs:
        try:
            yield from read_documents(path, on_error=reporter)
        except CorpusError as error:
            reporter.skipped += 1
            print(error, file=reporter.stream, flush=True)


def _batches(documents: Iterator[Document], size: int) -> Iterator[list[Document]]:
    while batch := list(islice(documents, size)):
        yield batch


def run(args) -> int:
    if args.batch_size < 1:
        raise CommandError("--batch-size must be at least 1", status=2)
    try:
        tagger = load_model_or_fail(args.model)
    except ModelError as error:
        raise CommandError(str(error)) from None
    reporter = SkipReporter()
    tagged = 0
    with AtomicOutput(args.output) as out:
        for batch in _batches(_documents(args.inputs or [STDIN], reporter), args.batch_size):
            for result in tagger.tag(batch, explain_tags=args.explain,
                                     all_scores=args.all_scores):
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
            tagged += len(batch)
    print(f"tagged {tagged}, skipped {reporter.skipped}", file=sys.stderr)
    status = exit_status(tagged, reporter.skipped)
    return EXIT_FAILURE if tagged == 0 and reporter.skipped else status
