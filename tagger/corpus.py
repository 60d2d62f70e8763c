"""Corpus readers: stream :class:`Document` records out of JSON Lines, CSV and plain-text files.

Readers are lazy generators, so a file of any size is read in constant memory. A bad record
never stops a read: it is handed to ``on_error`` as a :class:`RecordError` (printed by the CLI
as ``FILE:LINE: reason``) and the reader goes on with the next one.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from tagger import arxiv
from tagger.records import Limits, parse_categories, record_problem

if TYPE_CHECKING:
    import numpy as np

STDIN = "-"
FORMATS = ("jsonl", "csv", "text", "xml")

# A plain-text line this long (in words) is an abstract; shorter lines are titles or headers.
_ABSTRACT_MIN_WORDS = 40
# ...or, right after a title, at least this long and longer than the title.
_SHORT_ABSTRACT_MIN_WORDS = 12


@dataclass(frozen=True, slots=True)
class Document:
    """One paper. ``tags`` is None for unlabelled records, a tuple (maybe empty) otherwise."""

    id: str
    abstract: str
    title: str = ""
    tags: tuple[str, ...] | None = None
    source: str = ""
    line: int = 0
    month: str = ""  # arXiv feed "YYYY-MM"; "" when the record has none
    categories: tuple[str, ...] = ()  # arXiv categories, e.g. ("cs.CL", "cs.LG")
    # how a labelled record was picked for labelling ("random", "automl:band", ...); "" unknown
    selection: str = ""
    date: str = ""  # "YYYY-MM-DD" where the source says (arXiv listings, the Kaggle snapshot)


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record that could not be read; ``str()`` gives the ``FILE:LINE: reason`` message."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


class CorpusError(Exception):
    """The input as a whole cannot be read (missing file, unknown format)."""


ErrorHandler = Callable[[RecordError], None]


def _raise(error: RecordError) -> None:
    raise CorpusError(str(error))


def detect_format(path: str) -> str:
    """Format from the file name (``.jsonl``/``.ndjson``/``.json``, ``.csv``, ``.txt``/``.md``,
    ``.xml``/``.atom``/``.rss`` for arXiv listings, each optionally ``.gz``); stdin is JSON
    Lines."""
    if path == STDIN:
        return "jsonl"
    name = path.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith((".txt", ".md", ".text")):
        return "text"
    if name.endswith((".xml", ".atom", ".rss")):
        return "xml"
    raise CorpusError(
        f"{path}: cannot tell the format from the file name; use .jsonl, .csv, .txt or "
        ".xml (optionally .gz)"
    )


def open_binary(path: str) -> IO[bytes]:
    """Open a path (``-`` for stdin) for reading bytes, transparently un-gzipping ``.gz``."""
    if path == STDIN:
        return sys.stdin.buffer
    try:
        # Checked before opening: opening a FIFO nobody writes to would hang, and a
        # directory or device is never a corpus (pipe data in through stdin with ``-``).
        kind = _file_kind(os.stat(path).st_mode)
        if kind:
            raise CorpusError(f"{path}: cannot read: {kind}, not a regular file")
        if path.lower().endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as error:
        raise CorpusError(f"{path}: cannot open: {error.strerror}") from None


def _file_kind(mode: int) -> str:
    """"" for a regular file, else what it is."""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def _make_document(
    fields: dict, source: str, line: int, labelled: bool, limits: Limits, date: str = ""
) -> Document | RecordError:
    """Build one record from its fields after :func:`tagger.records.record_problem` (the rules
    shared with the API) has accepted them; a record without an id gets its line number.
    ``date`` comes from readers that know the layout (arXiv listings, the Kaggle snapshot),
    never from a record's own ``date`` field, whose format nobody promised."""
    problem = record_problem(fields, limits)
    if problem:
        return RecordError(source, line, problem[1])
    abstract = fields["abstract"]
    title = fields.get("title") or ""
    raw_id = fields.get("id")
    doc_id = raw_id if raw_id else str(line)
    tags: tuple[str, ...] | None = None
    if labelled:
        raw_tags = fields.get("tags")
        if raw_tags is None:
            return RecordError(source, line, "no 'tags' (labelled data needs a list of theme "
                               "ids, [] for none)")
        if isinstance(raw_tags, str):  # CSV: "a;b"
            raw_tags = [t for t in (s.strip() for s in raw_tags.split(";")) if t]
        if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
            return RecordError(source, line, "'tags' must be a list of theme ids")
        tags = tuple(dict.fromkeys(raw_tags))
    return Document(
        id=doc_id,
        abstract=abstract.strip(),
        title=" ".join(title.split()),
        tags=tags,
        source=source,
        line=line,
        month=fields.get("month") or "",
        categories=parse_categories(fields.get("categories")),  # type: ignore[arg-type]
        selection=fields["selection"] if isinstance(fields.get("selection"), str) else "",
        date=date,
    )


def _decode(raw: bytes, source: str, line: int) -> str | RecordError:
    try:
        return raw.decode("utf-8-sig" if line == 1 else "utf-8")
    except UnicodeDecodeError as error:
        return RecordError(source, line, f"not valid UTF-8 (byte {error.start})")


def json_problem(text: str, error: json.JSONDecodeError) -> str:
    """Why a line is not JSON; a line that stops mid-value (a cut-off download, a torn write)
    says so instead of quoting the parser's view of the last character."""
    body = text.rstrip()
    if error.msg.startswith("Unterminated string") or error.pos >= len(body) or (
        error.msg.startswith("Invalid control character") and error.pos >= len(body) - 1
    ):
        return "JSON ends early (truncated line?)"
    return f"not valid JSON ({error.msg} at column {error.colno})"


def _read_jsonl(
    stream: IO[bytes], source: str, labelled: bool, limits: Limits
) -> Iterator[Document | RecordError]:
    for line_number, raw in enumerate(stream, start=1):
        text = _decode(raw, source, line_number)
        if isinstance(text, RecordError):
            yield text
            continue
        if not text.strip():
            continue
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as error:
            yield RecordError(source, line_number, json_problem(text, error))
            continue
        except RecursionError:
            yield RecordError(source, line_number, "JSON nested too deeply")
            continue
        if not isinstance(fields, dict):
            yield RecordError(source, line_number, "expected a JSON object")
            continue
        date = ""
        if arxiv.is_snapshot_record(fields):  # Kaggle's arXiv snapshot: month from v1
            fields = arxiv.snapshot_fields(fields)
            date = fields.pop("date", "")
        yield _make_document(fields, source, line_number, labelled, limits, date)


def _read_csv(
    stream: IO[bytes], source: str, labelled: bool, limits: Limits
) -> Iterator[Document | RecordError]:
    text_stream = io.TextIOWrapper(
        stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
    )
    delimiter = "\t" if source.lower().removesuffix(".gz").endswith(".tsv") else ","
    reader = csv.reader(text_stream, delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return
    except csv.Error as error:
        yield RecordError(source, 1, f"unreadable CSV header ({error})")
        return
    if "abstract" not in header:
        yield RecordError(source, 1, "CSV header has no 'abstract' column")
        return
    while True:
        start_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield RecordError(source, start_line, f"unreadable CSV row ({error})")
            continue
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield RecordError(
                source, start_line, f"expected {len(header)} CSV fields, found {len(row)}"
            )
            continue
        if any("\udc80" <= ch <= "\udcff" for cell in row for ch in cell):
            yield RecordError(source, start_line, "not valid UTF-8")
            continue
        fields = {name: value for name, value in zip(header, row, strict=True)}
        yield _make_document(fields, source, start_line, labelled, limits)


def _looks_like_abstract(text: str, title: str | None) -> bool:
    """An abstract is a long line, or, right after a title, a line of prose clearly longer
    than that title (real abstracts go down to ~20 words; headers are a few words)."""
    words = len(text.split())
    if words >= _ABSTRACT_MIN_WORDS:
        return True
    return title is not None and words >= max(_SHORT_ABSTRACT_MIN_WORDS, len(title.split()) + 1)


def _read_text(
    stream: IO[bytes], source: str, labelled: bool, limits: Limits
) -> Iterator[Document | RecordError]:
    """The seed page's format: a title line, then an abstract line, repeated.

    Stray header lines (``# Papers``, ``Title``, dates, rules) before the first paper are
    tolerated: a short line counts as a title only when an abstract line follows it. Once
    papers have started, a title that is followed by another title instead of an abstract is
    reported (never silently dropped). A text with no paper in it but one or two short lines
    (a short abstract piped in, with or without its title) is that one paper.
    """
    pending_title: tuple[int, str] | None = None
    before_title: tuple[int, str] | None = None  # the line before pending_title, until started
    started = False
    for line_number, raw in enumerate(stream, start=1):
        text = _decode(raw, source, line_number)
        if isinstance(text, RecordError):
            yield text
            pending_title = None
            continue
        text = text.strip()
        if not text or text.startswith("#") or set(text) <= set("-=*_|: "):
            continue
        if _looks_like_abstract(text, pending_title[1] if pending_title else None):
            title_line, title = pending_title if pending_title else (line_number, "")
            pending_title = None
            started = True
            fields = {"title": title, "abstract": text}
            yield _make_document(fields, source, title_line, False, limits)
        else:
            if pending_title is not None and started:
                yield RecordError(source, pending_title[0], "title line with no abstract after it")
            before_title = None if started else pending_title
            pending_title = (line_number, text)
    if pending_title is not None and not started:
        title_line, title = before_title if before_title else (pending_title[0], "")
        fields = {"title": title, "abstract": pending_title[1]}
        yield _make_document(fields, source, title_line, False, limits)
    elif pending_title is not None:
        yield RecordError(source, pending_title[0], "title line with no abstract after it")


def _read_xml(
    stream: IO[bytes], source: str, labelled: bool, limits: Limits
) -> Iterator[Document | RecordError]:
    """An arXiv Atom / RSS listing saved to a file (:func:`tagger.arxiv.read_listing`); each
    entry is checked by the same record rules, reported at the line its element starts on."""
    try:
        for line, fields in arxiv.read_listing(stream):
            date = fields.pop("date", "")
            yield _make_document(fields, source, line, labelled, limits, date)
    except arxiv.ListingError as error:
        yield RecordError(source, error.line, str(error))


_READERS = {"jsonl": _read_jsonl, "csv": _read_csv, "text": _read_text, "xml": _read_xml}


def read_documents(
    path: str | Path,
    on_error: ErrorHandler | None = None,
    fmt: str | None = None,
    labelled: bool = False,
    limits: Limits | None = None,
) -> Iterator[Document]:
    """Stream the documents of one file (``-`` is JSON Lines on stdin).

    ``labelled=True`` also requires a ``tags`` list on every record (training data).
    ``limits`` caps lengths (tagging passes the API's; by default files are read uncapped).
    Bad records go to ``on_error``; without a handler the first one raises :class:`CorpusError`.
    """
    source = str(path)
    handler = on_error or _raise
    fmt = fmt or detect_format(source)
    if fmt not in _READERS:
        raise CorpusError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if labelled and fmt in ("text", "xml"):
        kind = "plain-text format" if fmt == "text" else "arXiv listing format"
        raise CorpusError(f"{source}: the {kind} carries no tags; use JSON Lines or CSV")
    stream = open_binary(source)
    try:
        try:
            for item in _READERS[fmt](stream, source, labelled, limits or Limits.unlimited()):
                if isinstance(item, RecordError):
                    handler(item)
                else:
                    yield item
        except EOFError:  # gzip cut short
            raise CorpusError(f"{source}: cannot read: compressed file ends early") from None
        except OSError as error:  # EIO, a bad gzip header, ...
            reason = error.strerror or str(error)
            raise CorpusError(f"{source}: cannot read: {reason}") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_corpus(
    paths: Iterable[str | Path], on_error: ErrorHandler | None = None, labelled: bool = False
) -> Iterator[Document]:
    """Stream the documents of several files in order."""
    for path in paths:
        yield from read_documents(path, on_error=on_error, labelled=labelled)


def read_labelled(
    paths: str | Path | Iterable[str | Path], theme_ids: Sequence[str] | None = None
) -> tuple[list[dict[str, str]], np.ndarray]:
    """Labelled files (JSON Lines or CSV with ``tags``) as scikit-learn's ``X`` and ``Y``.

    ``X`` is a list of ``{"title", "abstract"}`` records (what :class:`ThemeClassifier` reads);
    ``Y`` a 0/1 matrix with one column per theme of ``theme_ids`` (default: the packaged
    taxonomy's, in its order, which is the estimator's ``classes_`` order). A tag outside
    ``theme_ids`` raises :class:`CorpusError` naming the file and line: silently dropping it
    would train the model that the paper is not about that theme.
    """
    if theme_ids is None:
        from tagger.taxonomy import load_taxonomy

        theme_ids = load_taxonomy().ids
    known = set(theme_ids)
    if isinstance(paths, str | Path):
        paths = [paths]
    X: list[dict[str, str]] = []
    tag_lists: list[tuple[str, ...]] = []
    for document in read_corpus(paths, labelled=True):
        unknown = [tag for tag in document.tags or () if tag not in known]
        if unknown:
            raise CorpusError(f"{document.source}:{document.line}: unknown theme "
                              f"{unknown[0]!r} (not in the taxonomy)")
        X.append({"title": document.title, "abstract": document.abstract})
        tag_lists.append(document.tags or ())
    return X, label_matrix(tag_lists, theme_ids)


def label_matrix(tag_lists: Sequence[Sequence[str]], theme_ids: Sequence[str]) -> np.ndarray:
    """0/1 matrix ``(n_documents, n_themes)`` from per-document tag lists (every tag must be
    one of ``theme_ids``)."""
    import numpy as np

    index = {theme: k for k, theme in enumerate(theme_ids)}
    Y = np.zeros((len(tag_lists), len(theme_ids)), dtype=np.int8)
    for row, tags in enumerate(tag_lists):
        for tag in tags:
            Y[row, index[tag]] = 1
    return Y
