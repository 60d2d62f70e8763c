"""Local engines: in-process for one job, a process pool for several.

Why not ``Pool.imap``: its feeder thread drains the whole input iterator as fast as it can,
so memory would grow with the input. Here at most ``max_in_flight`` batches are submitted
ahead of the one being written, and results are taken in submission order.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator

from tagger.artifact import ModelError
from tagger.bulk.batching import Batch
from tagger.bulk.scoring import ScoreOptions, model_from_dir, score_batch

Result = tuple[int, str]


class SerialEngine:
    """``--jobs 1``: score in this process; no pool, no pickling."""

    def __init__(self, model_dir: str, options: ScoreOptions):
        self.model_dir = model_dir
        self.options = options

    def __enter__(self) -> SerialEngine:
        self.tagger = model_from_dir(self.model_dir, self.options.compiled)
        return self

    def __exit__(self, *exc) -> None:
        return None

    def map(self, batches: Iterator[Batch]) -> Iterator[Result]:
        for batch in batches:
            yield score_batch(self.tagger, batch, self.options)


# --- pool workers: the model is loaded once per worker, by the initializer ----------------

_worker_model_dir: str | None = None
_worker_error: str | None = None


def _init_worker(model_dir: str, compiled: bool) -> None:
    """Load the model once per worker (a forked worker finds the parent's, already compiled
    when ``compiled``). A failure is kept and raised by the first task, since an initializer
    that raises makes ``Pool`` respawn workers forever."""
    global _worker_model_dir, _worker_error
    _worker_model_dir = model_dir
    try:
        model_from_dir(model_dir, compiled)
    except ModelError as error:
        _worker_error = str(error)


def _score_in_worker(batch: Batch, options: ScoreOptions) -> Result:
    if _worker_error is not None:
        raise ModelError(_worker_error)
    assert _worker_model_dir is not None
    return score_batch(model_from_dir(_worker_model_dir), batch, options)


class PoolEngine:
    """``--jobs N``: N worker processes, bounded in-flight batches, results in input order."""

    def __init__(self, model_dir: str, options: ScoreOptions, jobs: int,
                 max_in_flight: int | None = None):
        self.model_dir = model_dir
        self.options = options
        self.jobs = jobs
        self.max_in_flight = max_in_flight or 2 * jobs + 1

    def __enter__(self) -> PoolEngine:
        # fork: workers start in milliseconds and share the parent's imported libraries.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self.pool = context.Pool(self.jobs, initializer=_init_worker,
                                 initargs=(self.model_dir, self.options.compiled))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.pool.close()
        else:
            self.pool.terminate()
        self.pool.join()

    def map(self, batches: Iterator[Batch]) -> Iterator[Result]:
        window: deque = deque()
        for batch in batches:
            window.append(self.pool.apply_async(_score_in_worker, (batch, self.options)))
            if len(window) >= self.max_in_flight:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()
