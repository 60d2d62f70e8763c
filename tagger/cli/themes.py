"""``tagger themes``: list the taxonomy."""

from __future__ import annotations

import json
import os
import stat

from tagger.cli.common import EXIT_OK, CommandError
from tagger.taxonomy import TaxonomyError, load_taxonomy


def register(subparsers) -> None:
    parser = subparsers.add_parser("themes", help="list the taxonomy's themes")
    parser.add_argument("--taxonomy", metavar="FILE", help="taxonomy TOML (default: packaged)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args) -> int:
    if args.taxonomy:
        _check_regular_file(args.taxonomy)
    try:
        taxonomy = load_taxonomy(args.taxonomy)
    except TaxonomyError as error:
        raise CommandError(str(error)) from None
    if args.json:
        data = taxonomy.to_dict()
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{taxonomy.name} v{taxonomy.version}: {len(taxonomy)} themes\n")
    for theme in taxonomy.themes:
        print(f"{theme.id:32} {theme.label}")
        if theme.description:
            print(f"{'':32} {theme.description[:110]}{'…' if len(theme.description) > 110 else ''}")
    return EXIT_OK


def _check_regular_file(path: str) -> None:
    """Before opening: a FIFO would hang the read, a directory fails obscurely."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise CommandError(f"{path}: not a regular file")
