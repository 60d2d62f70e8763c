"""Pieces shared by the subcommands: exit statuses, error reporting, model loading.

Kept light (no numpy, no model code at import time): every ``tagger`` invocation imports it
while building the parser, and a small job should not pay for what it does not use.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.records import ErrorDigest

if TYPE_CHECKING:
    from tagger.corpus import RecordError
    from tagger.tagging import Tagger

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3

# How many skipped-record messages are printed before the rest are only counted per reason.
SHOW_ERRORS = 20


class CommandError(Exception):
    """A failure that ends the command with a one-line message and an exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILURE):
        super().__init__(message)
        self.status = status


_reporters: list[SkipReporter] = []


class SkipReporter:
    """Prints skipped records as ``FILE:LINE: reason`` on stderr and counts them: the first
    :data:`SHOW_ERRORS` in full, the rest as one line per reason when the command ends
    (:func:`tagger.cli.main` calls :func:`finish_reporters`, so no command can forget)."""

    def __init__(self, stream=None, show: int = SHOW_ERRORS):
        self.stream = stream or sys.stderr
        self.skipped = 0
        self.digest = ErrorDigest(self._say, show=show)
        _reporters.append(self)

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def __call__(self, error: RecordError) -> None:
        self.skipped += 1
        self.digest(error)

    def finish(self) -> None:
        self.digest.finish()


def finish_reporters() -> None:
    while _reporters:
        _reporters.pop().finish()


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


def load_model_or_fail(model_dir: Path | None, shared: bool = False) -> Tagger:
    """The model, or a one-line error. ``shared``: through the per-process cache of
    :mod:`tagger.bulk.scoring`, so worker processes forked later find it loaded (and
    compiled, if it was) instead of loading their own copy."""
    from tagger.artifact import load_model

    with model_errors(model_dir):
        if shared:
            from tagger.bulk.scoring import model_from_dir

            return model_from_dir(str(resolved_model_dir(model_dir).resolve()))
        return load_model(model_dir)


@contextmanager
def model_errors(model_dir: Path | None) -> Iterator[None]:
    """Turn what reading a model directory can raise (a refused artifact, an unreadable
    file, a symlink loop) into the one-line :class:`CommandError` every command prints."""
    from tagger.artifact import ModelError

    try:
        yield
    except ModelError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(describe_os_error(error, model_dir)) from None
    except RecursionError:
        raise CommandError(f"{model_dir}: too many levels of symbolic links") from None


def resolved_model_dir(model_dir: Path | None) -> Path:
    from tagger.artifact import default_model_dir

    return model_dir if model_dir is not None else default_model_dir()


def describe_os_error(error: OSError, path: object = None) -> str:
    """``PATH: reason`` (the path the error names, else ``path``)."""
    where = error.filename if error.filename is not None else path
    reason = error.strerror or str(error)
    return f"{where}: {reason}" if where is not None else reason


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment, read when a command needs it (never while the
    parser is built, so ``TAGGER_WORKERS=two tagger themes`` still works)."""
    import os

    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CommandError(f"{name}={raw!r}: expected an integer", status=EXIT_USAGE) from None
    if value < 1:
        raise CommandError(f"{name}={raw!r}: expected a positive integer", status=EXIT_USAGE)
    return value


def add_stream_arguments(parser: argparse.ArgumentParser, scoring: bool = True) -> None:
    """``--db`` for the paper-stream commands (``ingest``, ``retag``, ``digest``) and, with
    ``scoring``, the model and bulk-engine flags they share with ``tagger tag``."""
    from tagger.cli.labels import add_db_argument

    add_db_argument(parser)
    if not scoring:
        return
    from tagger.cli.tag import COMPILED_CHOICES, DEFAULT_BATCH_SIZE

    add_model_argument(parser)
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="worker processes (default: all cores; one batch is scored "
                        "in-process)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help="papers per batch, scored by one worker and stored in one "
                        f"transaction (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--compiled", choices=COMPILED_CHOICES, default="auto",
                        help="score through the compiled kernel (as tagger tag; auto: on "
                        "for large inputs)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar or progress lines")


def check_stream_arguments(args: argparse.Namespace) -> None:
    if args.batch_size < 1:
        raise CommandError("--batch-size must be at least 1", status=EXIT_USAGE)
    if args.jobs is not None and args.jobs < 1:
        raise CommandError("--jobs must be at least 1", status=EXIT_USAGE)


@contextmanager
def store_errors() -> Iterator[None]:
    """The stream commands' store and model failures as one-line errors (exit 1)."""
    from sqlalchemy.exc import SQLAlchemyError

    from tagger.artifact import ModelError
    from tagger.store import StoreError

    try:
        yield
    except (StoreError, ModelError) as error:
        raise CommandError(str(error)) from None
    except SQLAlchemyError as error:  # the database went away or refused a write mid-run
        reason = getattr(error, "orig", None) or error
        raise CommandError(f"database error: {type(error).__name__}: {reason}") from None
