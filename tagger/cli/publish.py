"""``tagger publish`` and ``tagger rollback``: switch the ``models/current`` pointer."""

from __future__ import annotations

from pathlib import Path

from tagger.artifact import ModelError, models_root
from tagger.cli.common import EXIT_OK, CommandError, describe_os_error


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "publish", help="verify a model directory and make it models/current (atomically)")
    parser.add_argument("model", metavar="DIR", type=Path, help="model directory to publish")
    _add_root(parser)
    parser.set_defaults(handler=run_publish)

    parser = subparsers.add_parser(
        "rollback", help="switch models/current back to the previously published model")
    _add_root(parser)
    parser.set_defaults(handler=run_rollback)


def _add_root(parser) -> None:
    parser.add_argument("--models-root", metavar="DIR", type=Path, default=None,
                        help="where the current/previous pointers live (default: "
                        "$TAGGER_MODELS_ROOT, else the checkout's models/, else ./models)")


def _describe(verb: str, switch, root: Path) -> None:
    manifest = switch.manifest
    print(f"{verb} {manifest.get('name')} {manifest.get('model_version')} ({switch.current}) "
          f"as {root / 'current'}")
    if switch.previous is not None:
        print(f"previous   {switch.previous}")
    print("running servers pick it up on their next reload (SIGHUP or the admin endpoint)")


def run_publish(args) -> int:
    from tagger.publish import publish

    try:
        switch = publish(args.model, args.models_root)
    except ModelError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(describe_os_error(error)) from None
    _describe("published", switch, args.models_root or models_root())
    return EXIT_OK


def run_rollback(args) -> int:
    from tagger.publish import rollback

    try:
        switch = rollback(args.models_root)
    except ModelError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(describe_os_error(error)) from None
    _describe("rolled back to", switch, args.models_root or models_root())
    return EXIT_OK
