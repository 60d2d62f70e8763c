"""The ``tagger`` command line. Each subcommand lives in its own module exposing
``register(subparsers)``; handlers are thin: parse, call the library, format, exit status.

Exit status: 0 everything done, 3 some records skipped (the good ones were still written),
2 usage error, 1 nothing could be done.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tagger import __version__
from tagger.cli import (
    digest,
    evaluate,
    info,
    ingest,
    labels,
    publish,
    queue,
    report,
    retag,
    serve,
    tag,
    themes,
    train,
    weak_label,
)
from tagger.cli.common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    CommandError,
    describe_os_error,
    finish_reporters,
)

SUBCOMMANDS = [tag, train, evaluate, themes, info, serve, publish, weak_label, report]
SUBCOMMANDS += [queue, labels]  # the review loop (issue 13)
SUBCOMMANDS += [ingest, retag, digest]  # the paper stream (issue 24)


class _OneLineCommands(argparse.HelpFormatter):
    """One line per command in ``tagger --help``: argparse measures the command names without
    the indentation it prints them with, so the longest (``weak-label``) wrapped."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        for command in getattr(action, "_choices_actions", ()):
            self._action_max_length = max(self._action_max_length,
                                          len(command.dest) + self._current_indent + 2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tagger", description="Tag research-paper abstracts with themes.",
        epilog="'tagger COMMAND --help' shows a command's options; docs/cli.md has them all.",
        formatter_class=_OneLineCommands,
    )
    parser.add_argument("--version", action="version", version=f"tagger {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: 2 for usage errors, 0 for --help
        return int(exit_.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except CommandError as error:
        finish_reporters()
        print(f"tagger {args.command}: error: {error}", file=sys.stderr)
        return error.status
    except OSError as error:  # any file the command touched: one line, never a traceback
        if isinstance(error, BrokenPipeError):
            return EXIT_FAILURE
        finish_reporters()
        print(f"tagger {args.command}: error: {describe_os_error(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"tagger {args.command}: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        finish_reporters()
