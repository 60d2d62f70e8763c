"""``--resume``: carry on appending to the output of an interrupted run.

Output is written in input order, a whole batch at a time and flushed, so an interrupted run
leaves a prefix of the final output, possibly ending in one torn line. Resuming cuts the torn
line, then skips the input records whose ids are already in the output: they must be the
first records of the input, id for id. Matching the prefix (rather than keeping a set of
seen ids) keeps memory flat for any size and stays exact when ids repeat (records without an
id are numbered by line, so several files repeat them). An output that does not match the
input is refused rather than mixed.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from tagger.bulk.batching import Record
from tagger.bulk.formats import Formatter


class ResumeError(Exception):
    """The existing output cannot be resumed with these inputs and options."""


def cut_torn_line(path: Path) -> int:
    """Truncate ``path`` after its last newline (a killed run may have written half a line);
    return the resulting size."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return size
        position = size
        while position > 0:
            step = min(1 << 16, position)
            position -= step
            handle.seek(position)
            block = handle.read(step)
            cut = block.rfind(b"\n")
            if cut >= 0:
                handle.truncate(position + cut + 1)
                return position + cut + 1
        handle.truncate(0)
        return 0


def _lines(path: Path, limit: int) -> Iterator[tuple[int, str]]:
    """Numbered lines of the first ``limit`` bytes: what was there before this run appends."""
    consumed = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            consumed += len(raw)
            if consumed > limit:
                return
            yield number, raw.decode("utf-8", errors="replace")


def existing_ids(path: Path, formatter: Formatter, limit: int) -> Iterator[str]:
    """The ids already written to ``path``, in order."""
    lines = _lines(path, limit)
    if formatter.fmt == "csv":
        first = next(lines, None)
        if first is not None and first[1] != formatter.header():
            raise ResumeError(f"{path}:1: not the CSV header this run writes "
                              f"({formatter.header().strip()!r})")
        for number, line in lines:
            try:
                row = next(csv.reader([line]))
            except (csv.Error, StopIteration):
                raise ResumeError(f"{path}:{number}: unreadable CSV row") from None
            yield row[0]
        return
    for number, line in lines:
        try:
            record = json.loads(line)
            yield str(record["id"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ResumeError(f"{path}:{number}: not a tagger JSON line") from None


class SkipDone:
    """Filters a record stream, dropping the records already in the output (counted in
    :attr:`resumed`) and checking that they are the ones the output holds."""

    def __init__(self, done_ids: Iterator[str], output: Path):
        self.done_ids = done_ids
        self.output = output
        self.resumed = 0

    def __call__(self, records: Iterator[tuple[str, Record]]) -> Iterator[Record]:
        for source, record in records:
            expected = next(self.done_ids, None)
            if expected is None:
                yield record
                for _, rest in records:
                    yield rest
                return
            if record[0] != expected:
                raise ResumeError(
                    f"{self.output}: record {self.resumed + 1} has id {expected!r} but the "
                    f"input's ({source}) has id {record[0]!r}; this output was not written "
                    "from these inputs; rerun without --resume or with another -o"
                )
            self.resumed += 1
        if next(self.done_ids, None) is not None:
            raise ResumeError(f"{self.output}: holds more records than the input has")


def open_for_resume(path: Path, formatter: Formatter) -> tuple[TextIO, SkipDone]:
    """Prepare ``path`` for appending; return the handle (header written when the file is
    new) and the filter that skips what is already done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = cut_torn_line(path) if path.exists() else 0
    skip = SkipDone(existing_ids(path, formatter, size) if size else iter(()), path)
    handle = path.open("a", encoding="utf-8", newline="")
    if size == 0:
        handle.write(formatter.header())
        handle.flush()
    return handle, skip
