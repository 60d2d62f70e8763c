"""Progress on stderr: a tqdm bar on a terminal, plain periodic log lines otherwise (logs and
CI), nothing with ``--quiet``. Record errors also go through here so they do not break the
bar."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False,
                 total: int | None = None, interval: float = 10.0, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interval = interval
        self.count = 0
        self.started = self.last_log = time.monotonic()
        self.bar = None
        is_tty = self.stream.isatty() if tty is None else tty
        if not quiet and is_tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=" records", file=self.stream, smoothing=0.1,
                            dynamic_ncols=True, mininterval=0.5)

    def update(self, n: int) -> None:
        self.count += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if not self.quiet and now - self.last_log >= self.interval:
            self.last_log = now
            rate = self.count / max(now - self.started, 1e-9)
            print(f"tagger tag: {self.count} records tagged ({rate:.0f}/s)",
                  file=self.stream, flush=True)

    def message(self, text: str) -> None:
        """A line for the user (a skipped record), shown whatever ``quiet`` says."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
