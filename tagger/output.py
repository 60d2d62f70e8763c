"""Output files: checked before any work, never half-written under their final name, and
every failure reported as one line naming the file (never a traceback or a stray temp file)."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import TextIO


class OutputError(Exception):
    """The output cannot be written; ``str()`` names the path and the reason."""


def describe_os_error(error: OSError, path: str | Path | None = None) -> str:
    """``PATH: reason`` for an OSError (the path it names, else ``path``)."""
    where = error.filename if error.filename is not None else path
    reason = error.strerror or str(error)
    return f"{where}: {reason}" if where is not None else reason


def is_stream(path: Path) -> bool:
    """A character device (``/dev/null``, ``/dev/stdout``) or a FIFO (``>(gzip > out.gz)``):
    written to directly, never replaced by a renamed temporary file."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def check_output_path(path: str | Path | None, resume: bool = False) -> None:
    """Fail before any work if ``path`` cannot be the output: a directory, a block device or
    socket, a device or FIFO with ``--resume``, or a place this process cannot write
    (read-only filesystem, no permission)."""
    if path in (None, "-"):
        return
    target = Path(path)
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise OutputError(describe_os_error(error, target)) from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise OutputError(f"{target}: is a directory; -o needs a file name")
        streamed = stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)
        if streamed and resume:
            raise OutputError(f"{target}: not a regular file; --resume needs one")
        if streamed:
            return
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{target}: not a regular file; -o needs a file name")
        if resume and not os.access(target, os.W_OK):
            raise OutputError(f"{target}: not writable (permission denied or read-only)")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # created on demand: the nearest existing ancestor decides
    if not folder.is_dir():
        raise OutputError(f"{folder}: not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(folder) else "permission denied"
        raise OutputError(f"{folder}: cannot create files here ({reason})")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


class AtomicOutput:
    """Context manager writing text to a temporary sibling file, renamed over ``path`` only
    when the block finishes without an exception. ``path`` None or ``-`` writes to stdout.
    OSErrors (no space left, read-only) become :class:`OutputError`; the temporary file is
    removed whatever happens."""

    def __init__(self, path: str | Path | None):
        self.path = None if path in (None, "-") else Path(path)
        self._handle: TextIO | None = None
        self._temp: Path | None = None
        self._direct = self.path is not None and is_stream(self.path)

    def __enter__(self) -> TextIO:
        if self.path is None:
            return sys.stdout
        if self._direct:
            try:
                self._handle = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as error:
                raise OutputError(describe_os_error(error, self.path)) from None
            return self._handle
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part",
                                        dir=self.path.parent)
        except OSError as error:
            raise OutputError(describe_os_error(error, self.path.parent)) from None
        self._temp = Path(temp)
        os.fchmod(fd, _final_mode(self.path))  # mkstemp makes 0600; outputs are for sharing
        self._handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
        return self._handle

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.path is None:
            sys.stdout.flush()
            return
        if self._direct:
            assert self._handle is not None
            try:
                self._handle.close()
            except OSError as error:
                if exc_type is None:
                    raise OutputError(f"{self.path}: cannot write: {error.strerror}") from None
            return
        assert self._handle is not None and self._temp is not None
        try:
            self._handle.close()
            if exc_type is None:
                os.replace(self._temp, self.path)
        except OSError as error:
            if exc_type is None:
                raise OutputError(f"{self.path}: cannot write: {error.strerror}") from None
        finally:
            self._temp.unlink(missing_ok=True)


def _final_mode(path: Path) -> int:
    """The permissions ``open(path, "w")`` would give: the existing file's, else 0666 less the
    umask (read from /proc where possible, since ``os.umask`` can only be read by setting it)."""
    try:
        info = path.stat()
        if stat.S_ISREG(info.st_mode):
            return info.st_mode & 0o7777
    except OSError:
        pass
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            umask = next(int(line.split()[1], 8) for line in status
                         if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask
