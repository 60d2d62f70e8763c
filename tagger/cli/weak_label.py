"""``tagger weak-label``: silver theme labels from the taxonomy's phrase rules, with provenance.

Writes JSON Lines (``id``, ``title``, ``abstract``, ``tags``, ``provenance``) that ``tagger
train --silver`` reads. ``--exclude`` skips documents already in labelled files (same id or
same abstract text; titles are no key, some corpora use placeholder titles), so a silver set
never duplicates, and never leaks, gold documents.
"""

from __future__ import annotations

import json
import sys

from tagger.cli.common import EXIT_USAGE, CommandError, SkipReporter, exit_status
from tagger.corpus import CorpusError, read_documents
from tagger.output import AtomicOutput
from tagger.taxonomy import TaxonomyError, load_taxonomy


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "weak-label", help="silver-label an unlabelled corpus with the taxonomy's phrase rules")
    parser.add_argument("input", metavar="INPUT",
                        help="unlabelled JSON Lines, CSV or text file ('-' for stdin)")
    parser.add_argument("-o", "--output", metavar="FILE", default="-",
                        help="silver JSON Lines to write (default: stdout)")
    parser.add_argument("--taxonomy", metavar="FILE", help="taxonomy TOML (default: packaged)")
    parser.add_argument("--theme", action="append", metavar="ID",
                        help="only apply this theme's rules (repeatable; default: all)")
    parser.add_argument("--min-matches", type=int, default=2, metavar="N",
                        help="phrase matches a theme needs in the text (a match in the title "
                        "always suffices; default 2)")
    parser.add_argument("--exclude", action="append", default=[], metavar="FILE",
                        help="skip documents whose id or abstract occurs in this file (repeatable)")
    parser.add_argument("--keep-untagged", action="store_true",
                        help="also write documents no rule fired on (as silver negatives)")
    parser.set_defaults(handler=run)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def run(args) -> int:
    from tagger.training.weak_labels import PhraseRules

    if args.min_matches < 1:
        raise CommandError("--min-matches must be at least 1", EXIT_USAGE)
    try:
        taxonomy = load_taxonomy(args.taxonomy)
        rules = PhraseRules(taxonomy, themes=args.theme, min_matches=args.min_matches)
    except (TaxonomyError, ValueError) as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    excluded_ids, excluded_texts = set(), set()
    for path in args.exclude:
        try:
            for doc in read_documents(path, on_error=lambda _error: None):
                excluded_ids.add(doc.id)
                excluded_texts.add(_norm(doc.abstract))
        except (CorpusError, OSError) as error:
            raise CommandError(f"--exclude {path}: {error}") from None
    reporter = SkipReporter()
    read = excluded = written = 0
    counts: dict[str, int] = {}
    try:
        with AtomicOutput(args.output) as out:
            for doc in read_documents(args.input, on_error=reporter):
                read += 1
                if doc.id in excluded_ids or _norm(doc.abstract) in excluded_texts:
                    excluded += 1
                    continue
                record = rules.label(doc)
                if not record["tags"] and not args.keep_untagged:
                    continue
                for tag in record["tags"]:
                    counts[tag] = counts.get(tag, 0) + 1
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
    except (CorpusError, OSError) as error:
        raise CommandError(str(error)) from None
    summary = ", ".join(f"{theme} {n}" for theme, n in sorted(counts.items()))
    print(f"read {read}, excluded {excluded}, wrote {written} silver records, skipped "
          f"{reporter.skipped}" + (f"; tags: {summary}" if summary else ""), file=sys.stderr)
    if read == 0 and reporter.skipped == 0:
        return exit_status(0, 0)
    return exit_status(read, reporter.skipped)
