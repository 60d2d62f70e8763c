"""Per-process start-up in forked workers.

Gunicorn forks workers from a master that loaded the app: a worker inherits the master's
objects but none of its threads, so the threads a worker needs (the model watcher, the metrics
flusher) are started by the first request each process serves.
"""

from __future__ import annotations

import os
import threading


class FirstInProcess:
    """:meth:`claim` is True exactly once per process (a forked child claims again)."""

    def __init__(self) -> None:
        self._pid: int | None = None

    @property
    def claimed_here(self) -> bool:
        return self._pid == os.getpid()

    def claim(self, lock: threading.Lock | threading.RLock) -> bool:
        """True for the first caller in this process; cheap (no lock) once claimed."""
        if self.claimed_here:
            return False
        with lock:
            if self.claimed_here:
                return False
            self._pid = os.getpid()
            return True
