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
