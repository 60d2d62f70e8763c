"""The Dask engine: the same batches, scored as tasks on a Dask distributed cluster.

The model directory's files are shipped to every worker once (``Client.scatter`` with
``broadcast=True``) and unpickled once per worker process (cached by digest), so workers need
the ``tagger`` package installed but not the model directory, nor the input files. The parent
streams the input: at most ``max_in_flight`` batches are on the cluster at a time, gathered in
submission order, so memory is flat and the output order is the input order.

With no scheduler address a :class:`LocalCluster` of ``workers`` single-threaded processes is
started for the run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from tagger.bulk.batching import Batch
from tagger.bulk.scoring import ModelPayload, ScoreOptions, score_with_files

Result = tuple[int, str]


class DaskEngine:
    def __init__(self, model_dir: str, options: ScoreOptions, workers: int,
                 scheduler: str | None = None, max_in_flight: int | None = None,
                 processes: bool = True):
        self.model_dir = model_dir
        self.options = options
        self.workers = workers
        self.scheduler = scheduler
        self.processes = processes
        self.max_in_flight = max_in_flight
        self.cluster = None

    def __enter__(self) -> DaskEngine:
        from dask.distributed import Client, LocalCluster

        if self.scheduler:
            self.client = Client(self.scheduler, timeout="30s")
        else:
            self.cluster = LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=self.processes,
                dashboard_address=":0", host="127.0.0.1", silence_logs=40,
            )
            self.client = Client(self.cluster)
        n_threads = sum(self.client.nthreads().values()) or self.workers
        self.max_in_flight = self.max_in_flight or 2 * n_threads + 1
        payload = ModelPayload.from_dir(self.model_dir)
        self.digest = payload.digest
        self.files = self.client.scatter(payload.files, broadcast=True, hash=False)
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def map(self, batches: Iterator[Batch]) -> Iterator[Result]:
        window: deque = deque()
        for batch in batches:
            window.append(self.client.submit(score_with_files, self.files, self.digest,
                                             batch, self.options, pure=False))
            if len(window) >= self.max_in_flight:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
