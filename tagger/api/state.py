"""The served model and how it is swapped.

Requests read ``holder.tagger`` once and keep that object to the end, so a swap (one attribute
assignment) never changes a model under a running request. Reloads load and verify the new
model *before* the swap; a model that fails verification is never served.

Gunicorn runs several worker processes; a reload request reaches only one of them. A reload
resolves the model directory *once* (``models/current`` is a symlink that ``tagger publish``
may repoint at any moment) to a concrete directory, loads that, and writes the generation
file (``reload_file``): generation number, concrete directory and version. A small watcher
thread in every worker polls that file and, when the generation changes, loads exactly that
directory in the background, so every worker swaps in-process to the same version and no
request is dropped. Every swap is logged with the worker's pid.

Generation numbers only grow (the file is bumped under an exclusive lock), and a process only
ever moves *forward*: the watcher compares under the holder's lock and ignores a number that
is not newer than the one it holds. Otherwise a read that raced with this process's own reload
(file read at N, then this process reloads and bumps to N+1) would make the watcher "follow" N
and swap the previous model back in for a moment.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from tagger.api.per_process import FirstInProcess
from tagger.artifact import ModelError, default_model_dir, load_model
from tagger.corpus import Document
from tagger.tagging import Tagger

log = logging.getLogger("tagger.api.model")

POLL_SECONDS = 0.5
FOLLOW_ATTEMPTS = 3  # loads of one generation a worker tries before keeping its model


class ReloadRejected(Exception):
    """The configured model directory failed to load or verify; the old model stays."""


class Generation(NamedTuple):
    """The content of the generation file."""

    number: int
    model_dir: Path | None = None
    version: str | None = None


class ModelHolder:
    """Owns the current :class:`Tagger` of this process."""

    def __init__(self, model_dir: Path | None, reload_file: Path | None = None,
                 on_swap: Callable[[Tagger | None, Tagger], None] | None = None,
                 compiled_scoring: bool = False):
        self.configured_dir = Path(model_dir) if model_dir is not None else None
        self.reload_file = reload_file
        self.on_swap = on_swap
        self.compiled_scoring = compiled_scoring
        self.tagger: Tagger | None = None
        self.loaded_dir: Path | None = None
        self.error: str | None = None
        self.generation = 0
        self._failed_follows = (0, 0)  # (generation, failed loads of it)
        self._lock = threading.RLock()  # reload_everywhere and _follow call reload()
        self._worker = FirstInProcess()

    @property
    def model_dir(self) -> Path:
        """What a reload reads: the configured directory, else the default one (published
        ``models/current`` when present, else the shipped model), looked up now."""
        return self.configured_dir if self.configured_dir is not None else default_model_dir()

    def resolve(self) -> Path:
        """The concrete directory behind :attr:`model_dir` at this instant (symlinks
        followed), so a repoint after this call cannot change what is loaded."""
        return Path(os.path.realpath(self.model_dir))

    @property
    def ready(self) -> bool:
        return self.tagger is not None

    def load_initial(self) -> None:
        """Load at start-up; a failure leaves the process running but not ready (503), so an
        operator can fix the directory and reload instead of restarting."""
        self.generation = read_generation(self.reload_file).number
        target = self.resolve()
        try:
            self._swap(self._prepared(load_model(target)), target)
        except ModelError as error:
            self.error = str(error)
            log.error("model not loaded: %s", error)

    def reload(self, target: Path | None = None) -> Tagger:
        """Load and verify ``target`` (default: :meth:`resolve` now) and swap it in; raise
        :class:`ReloadRejected` (old model kept) if it cannot be used."""
        with self._lock:
            target = target or self.resolve()
            started = time.monotonic()
            try:
                tagger = self._prepared(load_model(target))
            except ModelError as error:
                log.error("pid %d: reload of %s refused, keeping model %s: %s", os.getpid(),
                          target, self.version_text, error)
                raise ReloadRejected(str(error)) from None
            old = self.version_text
            self._swap(tagger, target)
            log.info("pid %d: model swapped %s -> %s %s from %s in %.2fs (generation %d)",
                     os.getpid(), old, tagger.name, tagger.version, target,
                     time.monotonic() - started, self.generation)
        _release_memory()
        return tagger

    def reload_everywhere(self) -> Tagger:
        """Resolve once, reload here, then tell the other workers (via the generation file)
        to load exactly the same directory."""
        with self._lock:  # the watcher must not compare against a half-updated generation
            target = self.resolve()
            tagger = self.reload(target)
            if self.reload_file is not None:
                self.generation = bump_generation(self.reload_file, target, tagger.version)
        return tagger

    def _prepared(self, tagger: Tagger) -> Tagger:
        """A loaded model made ready to serve: compiled for single abstracts (when asked and
        possible; why not is logged), then warmed up."""
        if self.compiled_scoring:
            why_not = tagger.estimator.compile_scoring()
            if why_not:
                log.warning("pid %d: single abstracts take the string path: %s", os.getpid(),
                            why_not)
            else:
                log.info("pid %d: single abstracts scored by compiled code (%s %s)",
                         os.getpid(), tagger.name, tagger.version)
        return _warmed(tagger)

    @property
    def version_text(self) -> str:
        tagger = self.tagger
        return f"{tagger.name} {tagger.version}" if tagger else "(none)"

    def _swap(self, tagger: Tagger, target: Path) -> None:
        old, self.tagger = self.tagger, tagger
        self.loaded_dir = target
        self.error = None
        # Metrics are per serving process; the gunicorn master (which preloads) serves nothing.
        if self.on_swap is not None and self._worker.claimed_here:
            self.on_swap(old, tagger)

    # -- per-worker start-up -------------------------------------------------------------
    def ensure_worker_started(self) -> None:
        """Called on every request; cheap after the first call in a process. Starts the
        generation watcher in this (forked) process and publishes the model metric."""
        if not self._worker.claim(self._lock):
            return
        with self._lock:
            if self.tagger is not None and self.on_swap is not None:
                self.on_swap(None, self.tagger)
            if self.reload_file is not None:
                threading.Thread(target=self._watch, name="model-watcher", daemon=True).start()

    def _watch(self) -> None:
        while True:
            try:
                wanted = read_generation(self.reload_file)
                if wanted.number > self.generation:
                    self._follow(wanted)
            except Exception:  # noqa: BLE001 - the watcher must outlive any one failure
                log.exception("model watcher failed")
            time.sleep(POLL_SECONDS)

    def _follow(self, wanted: Generation) -> None:
        """Another process reloaded: load the very directory it loaded, unless we already
        serve it or already hold a newer generation (a stale read of the file).

        The other process verified that directory, so a failure here is most likely passing
        (a file system hiccup, memory pressure): the generation is retried at the next
        polls, up to ``FOLLOW_ATTEMPTS`` loads, before this worker gives up and keeps its
        model (logged as an error, since workers then serve different versions)."""
        with self._lock:
            if wanted.number <= self.generation:
                return
            if wanted.model_dir is not None and wanted.model_dir == self.loaded_dir:
                self.generation = wanted.number
                log.info("pid %d: generation %d, already serving %s from %s", os.getpid(),
                         wanted.number, self.version_text, self.loaded_dir)
                return
            previous, self.generation = self.generation, wanted.number
            try:
                self.reload(wanted.model_dir)
            except ReloadRejected:
                failed, attempts = self._failed_follows
                attempts = attempts + 1 if failed == wanted.number else 1
                self._failed_follows = (wanted.number, attempts)
                if attempts < FOLLOW_ATTEMPTS:
                    self.generation = previous  # the next poll tries again
                    return
                log.error("pid %d: gave up following generation %d after %d attempts; "
                          "this worker keeps %s while others serve %s", os.getpid(),
                          wanted.number, attempts, self.version_text,
                          wanted.version or wanted.model_dir)
            self._failed_follows = (0, 0)


def _release_memory() -> None:
    """Give the old model's memory back to the system after a swap. Without this, glibc
    keeps the freed arenas (the model's many small objects are freed in a different order than
    the next model allocates them), and worker RSS steps up with every reload
    (benchmarks/README.md)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
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


def read_generation(path: Path | None) -> Generation:
    """The generation file's content; generation 0 when absent or unreadable."""
    if path is None:
        return Generation(0)
    try:
        text = path.read_text().strip()
    except OSError:
        return Generation(0)
    try:
        data = json.loads(text or "0")
    except ValueError:
        return Generation(0)
    if isinstance(data, int):
        return Generation(data)
    if not isinstance(data, dict) or not isinstance(data.get("generation"), int):
        return Generation(0)
    model_dir = data.get("model_dir")
    return Generation(data["generation"], Path(model_dir) if model_dir else None,
                      data.get("version"))


def bump_generation(path: Path, model_dir: Path | None = None,
                    version: str | None = None) -> int:
    """Increment the shared generation number under an exclusive lock, recording the
    concrete model directory every worker must load; return the new number."""
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        value = read_generation(path).number + 1
        staging = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        staging.write_text(json.dumps({"generation": value,
                                       "model_dir": str(model_dir) if model_dir else None,
                                       "version": version}) + "\n")
        os.replace(staging, path)
    return value
