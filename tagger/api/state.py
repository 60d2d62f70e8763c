"""The served model and how it is swapped.

Requests read ``holder.tagger`` once and keep that object to the end, so a swap (one attribute
assignment) never changes a model under a running request. Reloads load and verify the new
model *before* the swap; a model that fails verification is never served.

Gunicorn runs several worker processes; a reload request reaches only one of them. The
worker that reloaded bumps a generation number in a shared file (``reload_file``) and a small
watcher thread in every worker polls that file and reloads in the background when the number
changes, so every worker swaps in-process and no request is dropped.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tagger.artifact import ModelError, load_model
from tagger.corpus import Document
from tagger.tagging import Tagger

log = logging.getLogger("tagger.api.model")

POLL_SECONDS = 0.5


class ReloadRejected(Exception):
    """The configured model directory failed to load or verify; the old model stays."""


class ModelHolder:
    """Owns the current :class:`Tagger` of this process."""

    def __init__(self, model_dir: Path, reload_file: Path | None = None,
                 on_swap: Callable[[Tagger | None, Tagger], None] | None = None):
        self.model_dir = Path(model_dir)
        self.reload_file = reload_file
        self.on_swap = on_swap
        self.tagger: Tagger | None = None
        self.error: str | None = None
        self.generation = 0
        self._lock = threading.Lock()
        self._worker_pid: int | None = None

    @property
    def ready(self) -> bool:
        return self.tagger is not None

    def load_initial(self) -> None:
        """Load at start-up; a failure leaves the process running but not ready (503), so an
        operator can fix the directory and reload instead of restarting."""
        self.generation = read_generation(self.reload_file)
        try:
            self._swap(_warmed(load_model(self.model_dir)))
        except ModelError as error:
            self.error = str(error)
            log.error("model not loaded: %s", error)

    def reload(self) -> Tagger:
        """Load and verify the model directory again and swap it in; raise
        :class:`ReloadRejected` (old model kept) if it cannot be used."""
        with self._lock:
            started = time.monotonic()
            try:
                tagger = _warmed(load_model(self.model_dir))
            except ModelError as error:
                log.error("reload refused, keeping model %s: %s", self.version_text, error)
                raise ReloadRejected(str(error)) from None
            self._swap(tagger)
            log.info("model reloaded: %s %s in %.2fs", tagger.name, tagger.version,
                     time.monotonic() - started)
            return tagger

    def reload_everywhere(self) -> Tagger:
        """Reload here, then tell the other workers (via the generation file) to follow."""
        tagger = self.reload()
        if self.reload_file is not None:
            self.generation = bump_generation(self.reload_file)
        return tagger

    @property
    def version_text(self) -> str:
        tagger = self.tagger
        return f"{tagger.name} {tagger.version}" if tagger else "(none)"

    def _swap(self, tagger: Tagger) -> None:
        old, self.tagger = self.tagger, tagger
        self.error = None
        # Metrics are per serving process; the gunicorn master (which preloads) serves nothing.
        if self.on_swap is not None and self._worker_pid == os.getpid():
            self.on_swap(old, tagger)

    # -- per-worker start-up -------------------------------------------------------------
    def ensure_worker_started(self) -> None:
        """Called on every request; cheap after the first call in a process. Starts the
        generation watcher in this (forked) process and publishes the model metric."""
        pid = os.getpid()
        if self._worker_pid == pid:
            return
        with self._lock:
            if self._worker_pid == pid:
                return
            self._worker_pid = pid
            if self.tagger is not None and self.on_swap is not None:
                self.on_swap(None, self.tagger)
            if self.reload_file is not None:
                threading.Thread(target=self._watch, name="model-watcher", daemon=True).start()

    def _watch(self) -> None:
        while True:
            try:
                wanted = read_generation(self.reload_file)
                if wanted != self.generation:
                    self.generation = wanted
                    self._follow()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one failure
                log.exception("model watcher failed")
            time.sleep(POLL_SECONDS)

    def _follow(self) -> None:
        """Another process reloaded: do the same unless we already serve that exact model."""
        current = self.tagger
        try:
            from tagger.artifact import read_manifest

            manifest = read_manifest(self.model_dir)
        except ModelError:
            manifest = None
        if current is not None and manifest is not None and manifest == current.manifest:
            return
        try:
            self.reload()
        except ReloadRejected:
            pass


def _warmed(tagger: Tagger) -> Tagger:
    """Tag one throw-away document so lazy initialisation (lemma tables, caches) happens
    here, before the swap and before gunicorn forks, not in somebody's first request. A
    model that cannot even do that is refused like a corrupt one."""
    try:
        tagger.tag([Document(id="warm-up", title="Warm up",
                             abstract="A short abstract that warms the model up.")],
                   explain_tags=True, all_scores=True)
    except Exception as error:  # noqa: BLE001 - any failure means the model is unusable
        raise ModelError(f"the model loads but cannot tag ({type(error).__name__}: "
                         f"{error})") from None
    return tagger


def read_generation(path: Path | None) -> int:
    if path is None:
        return 0
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def bump_generation(path: Path) -> int:
    """Increment the shared generation number under an exclusive lock; return the new one."""
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        value = read_generation(path) + 1
        staging = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        staging.write_text(f"{value}\n")
        os.replace(staging, path)
    return value
