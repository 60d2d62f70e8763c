"""``tagger labels import|export|conflicts``: fill and read the label store's labels.

``import FILE... --source NAME`` stores labelled files (gold sets, an annotation round) as
decisions of the reviewer ``import:NAME``, so the review loop can later override any of them
and ``tagger train --labels-db`` trains on the result. A record with an unknown theme or
without tags is reported ``FILE:LINE: reason`` and skipped (exit 3); a re-import of the same
file appends nothing.

``export`` writes one JSON Lines training record per reviewed paper (``id``, ``title``,
``abstract``, ``tags``, ``source``, ``reviewers``: a count, ``last_reviewed``), ready for
``tagger train --data``. A decision naming a theme that is no longer in the taxonomy is
reported as ``DB: paper ID: theme 'X' is not in the taxonomy`` and left out of ``tags``
(exit 3), never dropped silently.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from tagger.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    CommandError,
    SkipReporter,
    exit_status,
)
from tagger.corpus import CorpusError, Document, RecordError, read_documents
from tagger.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

if TYPE_CHECKING:  # SQLAlchemy is imported only by the commands that open the store
    from tagger.store import LabelStore


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=None,
                        help="label store: a SQLite file path, sqlite:///PATH or "
                        "postgresql://... (default: $TAGGER_DB, else labels.db under "
                        "$TAGGER_DATA_DIR or ~/.local/share/tagger)")


def open_store_or_fail(db: str | None) -> LabelStore:
    from tagger.store import StoreError, open_store

    try:
        return open_store(db)
    except StoreError as error:
        raise CommandError(str(error)) from None


def reviewed_records(store: LabelStore, taxonomy: Taxonomy,
                     report: Callable[[str], None] | None = None) -> Iterator[dict]:
    """The store's export with every unknown theme reported through ``report(message)`` and
    removed from ``tags``; ``report`` defaults to stderr."""
    known = set(taxonomy.ids)
    report = report or (lambda message: print(message, file=sys.stderr))
    for record in store.export():
        unknown = [t for t in record["tags"] if t not in known]
        for theme in unknown:
            report(f"{store.url}: paper {record['id']}: theme {theme!r} is not in the "
                   f"taxonomy {taxonomy.name!r}; left out")
        if unknown:
            record["tags"] = [t for t in record["tags"] if t in known]
            record["unknown_themes"] = unknown
        yield record


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "labels", help="import labelled files; export reviewed labels; list disagreements")
    commands = parser.add_subparsers(dest="labels_command", metavar="ACTION")
    imports = commands.add_parser("import", help="store labelled files as decisions of a "
                                  "named source (reviews can override them later)")
    imports.add_argument("files", nargs="+", metavar="FILE",
                         help="labelled JSON Lines or CSV (id, title, abstract, tags; gzip ok)")
    imports.add_argument("--source", required=True, metavar="NAME",
                         help="name of the label source, e.g. gold-2026 (decisions are "
                         "recorded as reviewer import:NAME)")
    imports.add_argument("--taxonomy", metavar="FILE",
                         help="taxonomy TOML the tags must fit (default: packaged)")
    add_db_argument(imports)
    imports.set_defaults(handler=run_import)
    export = commands.add_parser("export", help="current labels as JSON Lines training data")
    export.add_argument("-o", "--output", default="-", metavar="FILE",
                        help="output JSON Lines file (default: stdout)")
    export.add_argument("--taxonomy", metavar="FILE",
                        help="taxonomy TOML the labels must fit (default: packaged)")
    add_db_argument(export)
    export.set_defaults(handler=run_export)
    conflicts = commands.add_parser("conflicts", help="papers whose reviewers disagree")
    add_db_argument(conflicts)
    conflicts.set_defaults(handler=run_conflicts)
    parser.set_defaults(handler=lambda args: parser.print_help(sys.stderr) or 2)


SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def known_tags_only(documents, taxonomy: Taxonomy, report: Callable[[RecordError], None]):
    """The documents whose tags all belong to ``taxonomy``; the others are reported as
    ``FILE:LINE: unknown theme(s) ...`` through ``report``."""
    known = set(taxonomy.ids)
    for doc in documents:
        unknown = sorted(set(doc.tags or ()) - known)
        if unknown:
            report(RecordError(doc.source, doc.line, f"theme(s) {', '.join(unknown)} not in "
                               f"taxonomy {taxonomy.name!r}"))
            continue
        yield doc


def run_import(args) -> int:
    if not SOURCE_NAME.fullmatch(args.source):
        raise CommandError("--source must be 1-64 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit", EXIT_USAGE)
    try:
        taxonomy = load_taxonomy(args.taxonomy)
    except TaxonomyError as error:
        raise CommandError(str(error)) from None
    reporter = SkipReporter()
    documents: list[Document] = []
    for path in args.files:
        try:
            documents += known_tags_only(read_documents(path, on_error=reporter, labelled=True),
                                         taxonomy, reporter)
        except CorpusError as error:
            raise CommandError(str(error)) from None
    store = open_store_or_fail(args.db)
    try:
        result = store.import_labels(documents, args.source, taxonomy.ids)
    finally:
        store.close()
    print(f"imported {len(documents)} labelled papers from source {args.source!r} "
          f"({result.papers_new} new papers, {result.decisions} decisions, "
          f"{result.unchanged} unchanged), skipped {reporter.skipped}", file=sys.stderr)
    return exit_status(len(documents), reporter.skipped)


def run_export(args) -> int:
    try:
        taxonomy = load_taxonomy(args.taxonomy)
    except TaxonomyError as error:
        raise CommandError(str(error)) from None
    store = open_store_or_fail(args.db)
    reported: list[str] = []

    def report(message: str) -> None:
        reported.append(message)
        print(message, file=sys.stderr, flush=True)

    out = sys.stdout if args.output == "-" else open(args.output + ".part", "w",  # noqa: SIM115
                                                      encoding="utf-8")
    count = 0
    try:
        for record in reviewed_records(store, taxonomy, report):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        store.close()
        if out is not sys.stdout:
            out.close()
    if out is not sys.stdout:
        os.replace(args.output + ".part", args.output)  # whole file or none under the name
    print(f"exported {count} reviewed papers, {len(reported)} unknown theme decisions left out",
          file=sys.stderr)
    return EXIT_PARTIAL if reported else EXIT_OK


def run_conflicts(args) -> int:
    store = open_store_or_fail(args.db)
    try:
        conflicts = store.conflicts()
    finally:
        store.close()
    for conflict in conflicts:
        print(json.dumps(conflict, ensure_ascii=False))
    print(f"{len(conflicts)} conflicts", file=sys.stderr)
    return EXIT_OK


def with_reviewed_labels(db: str, taxonomy: Taxonomy, documents: list[Document],
                         sources: list[dict]) -> list[Document]:
    """``documents`` plus the store's reviewed papers for ``tagger train --labels-db``: a
    reviewed paper replaces a ``--data`` record with the same id (a review is a correction).
    Appends a manifest entry with counts and dates, never reviewer names."""
    store = open_store_or_fail(db)
    try:
        records = list(reviewed_records(store, taxonomy))
        stats = store.stats()
        url = store.url
    finally:
        store.close()
    reviewed = {r["id"]: Document(id=r["id"], abstract=r["abstract"], title=r["title"],
                                  tags=tuple(r["tags"]), source="reviews") for r in records}
    kept = [d for d in documents if d.id not in reviewed]
    stats["replaced"] = len(documents) - len(kept)
    sources.append({"file": "label store " + url.rsplit("/", 1)[-1], "records": len(reviewed),
                    "sha256": None, "reviews": stats})
    print(f"{len(reviewed)} reviewed papers from the label store ({stats['reviewers']} "
          f"reviewers, {stats['replaced']} --data records replaced)", file=sys.stderr)
    return kept + list(reviewed.values())
