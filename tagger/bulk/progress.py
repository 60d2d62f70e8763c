"""Progress on stderr: a tqdm bar on a terminal, plain periodic log lines otherwise (logs and
CI), nothing with ``--quiet``. Record errors also go through here so they do not break the
bar."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False,
                 total: int | None = None, interval: float = 10.0, tty: bool | None = None,
                 line: str = "tagger tag: {count} records tagged"):
        self.stream = stream or sys.stderr
        self.line = line  # the periodic line, the rate appended
        self.quiet = quiet
        self.interval = interval
        self.count = 0
        # The rate is measured from the first result on: model loading and worker start-up
        # are not throughput (counting them made one record look like "19/s").
        self.first: tuple[float, int] | None = None
        self.last_log = time.monotonic()
        self.bar = None
        is_tty = self.stream.isatty() if tty is None else tty
        if not quiet and is_tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=" records", file=self.stream, smoothing=0.1,
                            dynamic_ncols=True, mininterval=0.5)

    def update(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if self.first is None:
            self.first = (now, self.count)
            if self.bar is not None:
                self.bar.reset(total=self.bar.total)  # restart tqdm's clock after start-up
                self.bar.update(self.count)
                return
        if self.bar is not None:
            self.bar.update(n)
            return
        if not self.quiet and now - self.last_log >= self.interval:
            self.last_log = now
            print(self.line.format(count=self.count) + self.rate_text(now),
                  file=self.stream, flush=True)

    def rate_text(self, now: float | None = None) -> str:
        """`` (N/s)`` since the first result, or nothing before there is a second one."""
        if self.first is None:
            return ""
        now = time.monotonic() if now is None else now
        elapsed, done = now - self.first[0], self.count - self.first[1]
        return f" ({done / elapsed:.0f}/s)" if done and elapsed > 0 else ""

    def message(self, text: str) -> None:
        """A line for the user (a skipped record), shown whatever ``quiet`` says."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
