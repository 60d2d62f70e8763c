"""Pieces shared by the subcommands: exit statuses, error reporting, model loading."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.artifact import ModelError, default_model_dir, load_model
from tagger.corpus import RecordError

if TYPE_CHECKING:
    from tagger.tagging import Tagger

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


class CommandError(Exception):
    """A failure that ends the command with a one-line message and an exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILURE):
        super().__init__(message)
        self.status = status


class SkipReporter:
    """Prints every skipped record as ``FILE:LINE: reason`` on stderr and counts them."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.skipped = 0

    def __call__(self, error: RecordError) -> None:
        self.skipped += 1
        print(error, file=self.stream, flush=True)


def exit_status(done: int, skipped: int) -> int:
    """0 all done, 3 partial, 1 nothing done although there was input."""
    if skipped == 0:
        return EXIT_OK
    return EXIT_PARTIAL if done else EXIT_FAILURE


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="DIR",
        type=Path,
        default=None,
        help="model directory (default: $TAGGER_MODEL, else models/current, else "
        "models/default)",
    )


def load_model_or_fail(model_dir: Path | None) -> Tagger:
    try:
        return load_model(model_dir)
    except ModelError as error:
        raise CommandError(str(error)) from None


def resolved_model_dir(model_dir: Path | None) -> Path:
    return model_dir if model_dir is not None else default_model_dir()
