"""``tagger tag``: tag files of abstracts in input order, streaming, in parallel, resumably;
or one abstract given with ``--text`` (or piped in as plain text), quickly.

A thin layer over :mod:`tagger.bulk`: parse and check the flags, run, print the summary
``tagged N, skipped M`` as the last stderr line, and map the counts to the exit status.
The bulk machinery is imported only when the command runs, so the parser stays cheap.
"""

from __future__ import annotations

import os
import sys

from tagger.cli.common import (
    EXIT_USAGE,
    CommandError,
    add_model_argument,
    exit_status,
    resolved_model_dir,
)

# Kept in step with tagger.bulk (checked by tests/test_cli_files.py) without importing it.
FORMATS = ("jsonl", "csv")
INPUT_FORMATS = ("jsonl", "csv", "text", "xml")
ENGINES = ("local", "dask")
COMPILED_CHOICES = ("auto", "on", "off")
DEFAULT_BATCH_SIZE = 512


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tag", help="tag abstracts from files or stdin",
        description="Tag abstracts, one output record per input record, in input order.")
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="JSON Lines, CSV, plain-text or arXiv Atom/RSS listing (.xml) files, "
                        "optionally .gz, or globs "
                        "(quoted: 'data/*.jsonl.gz'); - or nothing for stdin (JSON Lines, or "
                        "plain text when it does not start with '{')")
    parser.add_argument("--text", metavar="ABSTRACT",
                        help="tag this one abstract (instead of INPUT files); id 'text'")
    parser.add_argument("--title", metavar="TITLE", default="",
                        help="with --text: the paper's title")
    parser.add_argument("--format-in", dest="fmt_in", choices=INPUT_FORMATS, default=None,
                        help="input format (default: from each file name; stdin is sniffed)")
    parser.add_argument("--max-abstract-chars", type=int, default=None, metavar="N",
                        help="skip (and report) records with a longer abstract (default "
                        "$TAGGER_MAX_ABSTRACT_CHARS, else 20000, as the HTTP API)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write here (atomically, unless --resume) instead of stdout")
    add_model_argument(parser)
    parser.add_argument("--explain", action="store_true",
                        help="add the words and phrases that drove each tag (JSON Lines only)")
    parser.add_argument("--all-scores", action="store_true",
                        help="add every theme's score")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="jsonl",
                        help="output format: jsonl (default) or csv (id, tags, scores; "
                        "tags and scores joined by ';')")
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help=f"worker processes (default: all cores, {_cores()} here; an "
                        "input that fits in one batch is scored in-process)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help=f"records per batch sent to a worker (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="local process pool (default) or a Dask cluster")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --engine dask: an existing cluster's scheduler, e.g. "
                        "tcp://10.0.0.5:8786 (default: start a local cluster of --jobs workers)")
    parser.add_argument("--compiled", choices=COMPILED_CHOICES, default="auto",
                        help="score through the compiled kernel (numba): about a quarter of "
                        "the CPU per abstract, ~0.6 s to load (~10 s the first time on a "
                        "machine); auto (default): on for inputs of 16 MiB or more")
    parser.add_argument("--resume", action="store_true",
                        help="append to an existing -o file, skipping the records already in it")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar or progress lines (skipped records are still "
                        "reported)")
    parser.set_defaults(handler=run)


def _check(args) -> None:
    if args.batch_size < 1:
        raise CommandError("--batch-size must be at least 1", status=EXIT_USAGE)
    if args.jobs is not None and args.jobs < 1:
        raise CommandError("--jobs must be at least 1", status=EXIT_USAGE)
    if args.resume and args.output in (None, "-"):
        raise CommandError("--resume needs an output file (-o FILE)", status=EXIT_USAGE)
    if args.scheduler and args.engine != "dask":
        raise CommandError("--scheduler needs --engine dask", status=EXIT_USAGE)
    if args.explain and args.fmt == "csv":
        raise CommandError("--explain needs --format jsonl", status=EXIT_USAGE)
    if args.text is not None and args.inputs:
        raise CommandError("--text replaces INPUT files; give one or the other",
                           status=EXIT_USAGE)
    if args.title and args.text is None:
        raise CommandError("--title needs --text", status=EXIT_USAGE)
    if args.max_abstract_chars is not None and args.max_abstract_chars < 1:
        raise CommandError("--max-abstract-chars must be at least 1", status=EXIT_USAGE)


def limits_from_args(args):
    """The record limits: `$TAGGER_MAX_ABSTRACT_CHARS`, then `--max-abstract-chars`."""
    from dataclasses import replace

    from tagger.records import LimitError, Limits

    try:
        limits = Limits.from_env()
    except LimitError as error:
        raise CommandError(str(error), status=EXIT_USAGE) from None
    if args.max_abstract_chars is not None:
        limits = replace(limits, max_abstract_chars=args.max_abstract_chars)
    return limits


def run(args) -> int:
    _check(args)
    from tagger.cli.startup import trim_tagging_startup

    trim_tagging_startup(local_engine=args.engine == "local")
    from tagger.artifact import ModelError
    from tagger.bulk.resume import OutputLocked, ResumeError
    from tagger.bulk.runner import BulkJob, documents_from_text, run_bulk
    from tagger.output import OutputError, describe_os_error

    limits = limits_from_args(args)
    documents = None
    if args.text is not None:
        try:
            documents = documents_from_text(args.text, args.title, limits)
        except ValueError as error:
            raise CommandError(str(error), status=EXIT_USAGE) from None
    job = BulkJob(
        inputs=list(args.inputs),
        model_dir=resolved_model_dir(args.model),
        output=args.output,
        fmt=args.fmt,
        explain=args.explain,
        all_scores=args.all_scores,
        batch_size=args.batch_size,
        jobs=args.jobs or _cores(),
        engine=args.engine,
        scheduler=args.scheduler,
        resume=args.resume,
        quiet=args.quiet,
        limits=limits,
        fmt_in=args.fmt_in,
        documents=documents,
        compiled=args.compiled,
    )
    try:
        summary = run_bulk(job)
    except (ModelError, OutputError) as error:
        raise CommandError(str(error)) from None
    except OutputLocked as error:
        raise CommandError(f"cannot resume: {error}" if args.resume else str(error)) from None
    except ResumeError as error:
        raise CommandError(f"cannot resume: {error}", status=EXIT_USAGE) from None
    except OSError as error:
        raise CommandError(describe_os_error(error)) from None
    if summary.resumed:
        print(f"resumed: {summary.resumed} records were already in {args.output}",
              file=sys.stderr)
    print(f"tagged {summary.tagged}, skipped {summary.skipped}", file=sys.stderr)
    return exit_status(summary.tagged + summary.resumed, summary.skipped)
