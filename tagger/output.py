"""Output files that never exist half-written under their final name."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TextIO


class AtomicOutput:
    """Context manager writing text to a temporary sibling file, renamed over ``path`` only
    when the block finishes without an exception. ``path`` None or ``-`` writes to stdout."""

    def __init__(self, path: str | Path | None):
        self.path = None if path in (None, "-") else Path(path)
        self._handle: TextIO | None = None
        self._temp: Path | None = None

    def __enter__(self) -> TextIO:
        if self.path is None:
            return sys.stdout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part",
                                    dir=self.path.parent)
        self._temp = Path(temp)
        os.fchmod(fd, _final_mode(self.path))  # mkstemp makes 0600; outputs are for sharing
        self._handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
        return self._handle

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.path is None:
            sys.stdout.flush()
            return
        assert self._handle is not None and self._temp is not None
        self._handle.close()
        if exc_type is None:
            os.replace(self._temp, self.path)
        else:
            self._temp.unlink(missing_ok=True)


def _final_mode(path: Path) -> int:
    """The permissions ``open(path, "w")`` would give: the existing file's, else 0666 less the
    umask (read from /proc where possible, since ``os.umask`` can only be read by setting it)."""
    try:
        return path.stat().st_mode & 0o7777
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
