"""Reading inputs as a stream of small batches of plain tuples.

Batches are tuples ``(id, title, abstract)`` rather than :class:`Document` objects: they are
what crosses the process boundary, and plain tuples of strings pickle fastest.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from tagger.corpus import STDIN, CorpusError, Document, RecordError, open_binary, read_documents
from tagger.records import Limits

Record = tuple[str, str, str]
Batch = list[Record]

_GLOB_CHARS = frozenset("*?[")


def expand_inputs(patterns: Iterable[str]) -> Iterator[str | CorpusError]:
    """Each argument as given, or, when it is a glob that is not itself an existing path, the
    files it matches in sorted order. A glob matching nothing yields a :class:`CorpusError`
    (reported like a missing file) instead of silently tagging nothing."""
    import os

    for pattern in patterns:
        if pattern == STDIN or not (_GLOB_CHARS & set(pattern)) or os.path.exists(pattern):
            yield pattern
            continue
        matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            yield CorpusError(f"{pattern}: no files match")
        yield from matches


def read_records(
    inputs: Iterable[str],
    on_error: Callable[[RecordError | CorpusError], None],
    limits: Limits | None = None,
    fmt: str | None = None,
) -> Iterator[tuple[str, Record]]:
    """``(source, record)`` for every good record of every input, in order; bad records and
    unreadable inputs go to ``on_error`` and the stream goes on. ``fmt`` forces the format;
    otherwise stdin is sniffed (JSON Lines when it starts with ``{``, an arXiv listing when
    it starts with ``<``, else plain text)."""
    for path, doc in read_inputs(inputs, on_error, limits, fmt):
        yield path, (doc.id, doc.title, doc.abstract)


def read_inputs(
    inputs: Iterable[str],
    on_error: Callable[[RecordError | CorpusError], None],
    limits: Limits | None = None,
    fmt: str | None = None,
) -> Iterator[tuple[str, Document]]:
    """:func:`read_records` with whole :class:`Document` records (month, date, categories
    too), for the paper stream, which stores them."""
    for path in expand_inputs(inputs):
        if isinstance(path, CorpusError):
            on_error(path)
            continue
        try:
            path_fmt = fmt or (stdin_format() if path == STDIN else None)
            for doc in read_documents(path, on_error=on_error, fmt=path_fmt, limits=limits):
                yield path, doc
        except CorpusError as error:
            on_error(error)


def stdin_format() -> str:
    """``jsonl`` when stdin's first non-blank byte is ``{``, ``xml`` (an arXiv listing) when
    it is ``<``, else ``text`` (an abstract pasted or piped in). Peeks without consuming, so
    the reader still sees every byte."""
    stream = sys.stdin.buffer
    peek = getattr(stream, "peek", None)
    if peek is None:
        return "jsonl"
    head = peek(1 << 16)[: 1 << 16].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<":
        return "xml"
    return "jsonl" if not head or head[:1] == b"{" else "text"


def batched(records: Iterator[Record], size: int) -> Iterator[Batch]:
    """Consecutive lists of at most ``size`` records; reads lazily, one batch at a time."""
    while batch := list(islice(records, size)):
        yield batch


def to_documents(batch: Batch) -> list[Document]:
    return [Document(id=doc_id, abstract=abstract, title=title)
            for doc_id, title, abstract in batch]


# Abstracts in JSON Lines compress about 3x with gzip (measured on arxiv_feed.jsonl.gz).
GZIP_RATIO = 3


def input_bytes(patterns: Iterable[str]) -> int:
    """About how many bytes of records the inputs hold, from their sizes on disk (globs
    expanded, gzip files times :data:`GZIP_RATIO`); stdin and unreadable inputs count 0."""
    import os

    total = 0
    for path in expand_inputs(patterns):
        if isinstance(path, CorpusError) or path == STDIN:
            continue
        try:
            size = os.stat(path).st_size
        except OSError:
            continue
        total += size * GZIP_RATIO if path.lower().endswith(".gz") else size
    return total


def count_lines(paths: Iterable[str]) -> int | None:
    """Line count of the inputs, for a progress bar's ETA; None when unknown or expensive
    (stdin, gzip, globs, plain-text format where records span two lines)."""
    total = 0
    for path in paths:
        if path == STDIN or path.lower().endswith((".gz", ".txt", ".md", ".text")) or (
            _GLOB_CHARS & set(path)
        ):
            return None
        try:
            with open_binary(path) as stream:
                lines = sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20),
                                                                   b""))
            is_csv = path.lower().endswith((".csv", ".tsv"))
            total += max(lines - 1, 0) if is_csv else lines
        except CorpusError:
            continue
    return total
