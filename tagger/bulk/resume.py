"""``--resume``: carry on appending to the output of an interrupted run, and never to anything
else.

Output is written in input order, a whole batch at a time and flushed, so an interrupted run
leaves a prefix of the final output, possibly ending in one torn record. Resuming must never
harm a file that is not such a prefix, so nothing is written or cut until the whole existing
file has been read and recognised:

1. the output is locked (``flock``) for the whole run, so a second run on the same output is
   refused, naming the process that holds it;
2. every complete record must be tagger output in this run's format and options (JSON lines
   with ``id`` and ``tags`` and the ``scores`` of ``--all-scores``; or CSV records parsed as
   CSV, so ids holding newlines are fine, under the exact header), and a torn tail must look
   like the start of one;
3. the ids must be the first ids of the inputs, id for id (:class:`SkipDone` checks this as
   the inputs stream past, before the first new record is tagged);

only then is the torn tail cut and the file opened for appending. Matching the prefix (rather
than keeping a set of seen ids) keeps memory flat for any size and stays exact when ids
repeat (records without an id are numbered by line, so several files repeat them).
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from tagger.bulk.batching import Record
from tagger.bulk.formats import Formatter

_JSON_KEYS = frozenset({"id", "tags", "scores", "evidence"})
NEWLINE = b"\n"


class ResumeError(Exception):
    """The existing output cannot be resumed with these inputs and options."""


class OutputLocked(ResumeError):
    """Another run is writing this output."""


# --- locking -------------------------------------------------------------------------------

def lock_holder(fd: int) -> int | None:
    """The pid holding a lock on the file open as ``fd``, from ``/proc/locks`` (Linux); None
    when it cannot be told."""
    info = os.fstat(fd)
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii") as locks:
            for line in locks:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters: "->")
                if "->" in fields:
                    continue
                if len(fields) >= 6 and fields[5].lower() == wanted:
                    return int(fields[4])
    except (OSError, ValueError):
        return None
    return None


def lock_output(path: Path) -> tuple[int, bool]:
    """Open ``path`` (created empty if missing) and lock it exclusively without waiting.
    Returns the descriptor, which holds the lock until closed, and whether the file was
    created. Opening neither truncates nor writes, so a refused run leaves the file as it was.

    Two runs may start together: the one whose exclusive create loses opens the winner's
    file instead, and a run that locks a file another run has just removed (a failed run
    removes the empty output it created) starts over on whatever the path holds now, so the
    lock always guards the file at ``path``.
    """
    while True:
        created = False
        try:
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            except FileExistsError:  # another run created it between our two opens
                continue
            created = True
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ResumeError(f"{path}: not a regular file")
            os.set_blocking(fd, True)
            _lock_or_refuse(fd, path)
        except BaseException:
            os.close(fd)
            raise
        if _still_at(fd, path):
            return fd, created
        os.close(fd)


def _still_at(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _lock_or_refuse(fd: int, path: Path) -> None:
    """Take the exclusive lock on ``fd`` without waiting, or raise :class:`OutputLocked`
    naming the run that holds it."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = lock_holder(fd)
        who = f"another tagger run (pid {pid})" if pid else "another tagger run"
        raise OutputLocked(f"{path}: {who} is writing this output; wait for it to finish "
                           "or use another -o") from None


def lock_existing_output(path: Path) -> int | None:
    """For a run *without* ``--resume``: lock the file already at ``path`` (if it is a
    regular file) until the new output has been renamed over it, so a run that is resuming
    into that file is never replaced under its feet (its appends would go to an unlinked
    file). Returns the descriptor holding the lock, or None when there is nothing to lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:  # missing, unreadable: the output checks report what matters
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        _lock_or_refuse(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


# --- recognising tagger output ----------------------------------------------------------------

def _not_ours(path: Path, where: str, why: str) -> ResumeError:
    return ResumeError(
        f"{path}{where}: {why}; this is not tagger output from this command, so it was left "
        "untouched (use another -o, or delete it yourself)")


def _check_json_record(record: object, formatter: Formatter, explain: bool) -> str | None:
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not isinstance(
            record.get("tags"), list):
        return "not a tagger JSON line (an object with 'id' and 'tags')"
    extra = set(record) - _JSON_KEYS
    if extra:
        return f"not a tagger JSON line (unexpected field {sorted(extra)[0]!r})"
    if ("scores" in record) != formatter.all_scores:
        return ("written with --all-scores; add it to resume" if "scores" in record else
                "written without --all-scores; drop it to resume")
    if "evidence" in record and not explain:
        return "written with --explain; add it to resume"
    return None


def _json_ids(path: Path, data: bytes, formatter: Formatter, explain: bool) -> list[str]:
    ids = []
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise _not_ours(path, f":{number}", "not a JSON line") from None
        problem = _check_json_record(record, formatter, explain)
        if problem:
            raise _not_ours(path, f":{number}", problem)
        ids.append(record["id"])
    return ids


def _torn_json_ok(tail: bytes) -> bool:
    """A torn JSON line is the start of ``{"id": "...``, never a complete document."""
    if not b'{"id": "'.startswith(tail[:8]):
        return False
    try:
        json.loads(tail)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    return False


def _csv_records(text: str) -> Iterator[tuple[list[str], int]]:
    """CSV records with the character offset where each ends (quoted newlines included)."""
    lines = io.StringIO(text, newline="")
    offset = 0

    def counted() -> Iterator[str]:
        nonlocal offset
        for line in lines:
            offset += len(line)
            yield line

    reader = csv.reader(counted(), strict=True)
    for row in reader:
        yield row, offset


def _csv_ids(path: Path, data: bytes, formatter: Formatter) -> tuple[list[str], int]:
    """Ids of the complete CSV records and the byte length they span (the rest is torn)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_ours(path, "", "not UTF-8 text") from None
    header = formatter.header()
    if not text.startswith(header):
        if header.startswith(text):  # a torn header: nothing was written yet
            return [], 0
        raise _not_ours(path, ":1", f"not the CSV header this run writes ({header.strip()!r})")
    width = len(next(csv.reader([header])))
    ids: list[str] = []
    complete = len(header)
    body = text[len(header):]
    try:
        for row, end in _csv_records(body):
            if end == len(body) and not body.endswith("\n"):
                break  # last record without its newline: torn
            if len(row) != width:
                raise _not_ours(path, f" (record {len(ids) + 1})",
                                f"expected {width} CSV fields, found {len(row)}")
            ids.append(row[0])
            complete = len(header) + end
    except csv.Error:
        pass  # unreadable from here on: the torn tail starts at `complete`
    tail = body[complete - len(header):]
    if len(list(csv.reader(io.StringIO(tail, newline="")))) > 1:  # torn: one record at most
        raise _not_ours(path, f" (record {len(ids) + 1})", "unreadable CSV")
    return ids, len(text[:complete].encode("utf-8"))


def recognise_output(path: Path, fd: int, formatter: Formatter, explain: bool = False
                     ) -> tuple[list[str], int]:
    """Read the whole existing output (without changing it) and return the ids it holds and
    the size of its complete part; :class:`ResumeError` when it is not tagger output written
    in this format and with these options."""
    with os.fdopen(os.dup(fd), "rb") as handle:
        data = handle.read()
    if not data:
        return [], 0
    if formatter.fmt == "csv":
        return _csv_ids(path, data, formatter)
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    if tail and not _torn_json_ok(tail):
        raise _not_ours(path, f":{data.count(NEWLINE) + 1}",
                        "does not end in a complete line nor in the start of a tagger line")
    return _json_ids(path, data[:cut], formatter, explain), cut


class SkipDone:
    """Filters a record stream, dropping the records already in the output (counted in
    :attr:`resumed`) and checking that they are the ones the output holds. ``on_verified``
    runs once the prefix is proven (before the first new record is passed on, or at the end)."""

    def __init__(self, done_ids: list[str], output: Path,
                 on_verified: Callable[[], None] = lambda: None):
        self.done_ids = done_ids
        self.output = output
        self.on_verified = on_verified
        self.resumed = 0

    def __call__(self, records: Iterator[tuple[str, Record]]) -> Iterator[Record]:
        done = iter(self.done_ids)
        for source, record in records:
            expected = next(done, None)
            if expected is None:
                self.on_verified()
                yield record
                for _, rest in records:
                    yield rest
                return
            if record[0] != expected:
                raise ResumeError(
                    f"{self.output}: record {self.resumed + 1} has id {expected!r} but the "
                    f"input's ({source}) has id {record[0]!r}; this output was not written "
                    "from these inputs and was left untouched; rerun without --resume or "
                    "with another -o"
                )
            self.resumed += 1
        if next(done, None) is not None:
            raise ResumeError(f"{self.output}: holds more records than the input has; left "
                              "untouched")
        self.on_verified()


class ResumeOutput:
    """The output of a ``--resume`` run: locked and recognised on :meth:`open`, appended to
    only after :class:`SkipDone` has proven the prefix."""

    def __init__(self, path: Path, formatter: Formatter, explain: bool = False):
        self.path = path
        self.formatter = formatter
        self.explain = explain
        self.fd: int | None = None
        self.created = False
        self.size = 0
        self.handle: TextIO | None = None

    def open(self) -> SkipDone:
        self.fd, self.created = lock_output(self.path)
        try:
            ids, self.size = recognise_output(self.path, self.fd, self.formatter, self.explain)
        except BaseException:
            self.close(failed=True)
            raise
        return SkipDone(ids, self.path, self._start_appending)

    def _start_appending(self) -> None:
        if self.handle is not None:
            return
        assert self.fd is not None
        os.ftruncate(self.fd, self.size)  # the torn tail, if any
        handle = os.fdopen(os.dup(self.fd), "a", encoding="utf-8", newline="")
        if self.size == 0:
            handle.write(self.formatter.header())
            handle.flush()
        self.handle = handle

    def write(self, text: str) -> None:
        self._start_appending()
        assert self.handle is not None
        self.handle.write(text)

    def flush(self) -> None:
        if self.handle is not None:
            self.handle.flush()

    def close(self, failed: bool = False) -> None:
        try:
            if self.handle is not None:
                self.handle.close()
        finally:
            self.handle = None
            if self.fd is not None:
                if failed and self.created and os.fstat(self.fd).st_size == 0:
                    self.path.unlink(missing_ok=True)
                os.close(self.fd)
                self.fd = None
