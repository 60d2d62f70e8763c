"""Prometheus metrics. Under gunicorn every worker is a separate process, so
``api/gunicorn_conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before prometheus_client is
imported and ``/metrics`` aggregates the per-process files; without it (a single process)
the default registry is used."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from bisect import bisect_left

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from tagger.api.per_process import FirstInProcess
from tagger.tagging import Tagger

_log = logging.getLogger("tagger.api.metrics")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("tagger_http_requests_total", "HTTP requests by endpoint, method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("tagger_http_request_duration_seconds",
                    "Time spent in the application per request, by endpoint and status",
                    ["endpoint", "status"], buckets=LATENCY_BUCKETS)
DOCUMENTS = Counter("tagger_documents_tagged_total", "Documents tagged")
TAGS = Counter("tagger_tags_predicted_total", "Tags predicted, by theme", ["theme"])
MODEL_INFO = Gauge("tagger_model_info", "The model a live worker serves (value 1)",
                   ["name", "version"], multiprocess_mode="livemax")
RELOADS = Counter("tagger_model_reloads_total", "Model reload attempts by result", ["result"])


# Label values must come from bounded sets, or any client could grow /metrics without limit
# by inventing method names: methods outside the standard set count as "other", endpoints
# are route templates ("unmatched" for no route), statuses are what the app answers.
STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                              "CONNECT", "TRACE"})


def method_label(method: str) -> str:
    return method if method in STANDARD_METHODS else "other"


# ``labels(...)`` costs a lock and a tuple lookup each time; the children are cached per
# process (the label sets are bounded, so are these dicts).
_request_children: dict[tuple[str, str, int], tuple] = {}
_tag_children: dict[str, object] = {}

# How often a worker writes what its requests counted into prometheus_client's values (and
# always just before /metrics is rendered, and when the process exits).
FLUSH_SECONDS = 1.0


class PendingCounts:
    """Counts and latencies recorded on the request path, written to prometheus_client's
    values in one go per :data:`FLUSH_SECONDS`.

    Why: under gunicorn every ``inc`` is a locked write into a memory-mapped file; a tag
    request made six (request counter, latency sum and bucket, documents, one per tag),
    about a tenth of the request's CPU time (``benchmarks/request_path.py``). Here a request
    adds to plain dicts; each series is written once per second whatever the traffic. The
    price: another worker's last second of requests may be missing from a scrape (Prometheus
    scrapes every 15 s or so). A histogram is written through its child's bucket and sum
    values (prometheus_client keeps them in ``_buckets`` and ``_sum``; tested against
    ``observe``)."""

    def __init__(self, flush_seconds: float = FLUSH_SECONDS):
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._counts: dict[object, float] = {}  # counter child -> amount
        self._latencies: dict[object, list] = {}  # histogram child -> [sum, per-bucket counts]
        self._flusher = FirstInProcess()

    def add(self, child: object, amount: float = 1.0) -> None:
        with self._lock:
            self._counts[child] = self._counts.get(child, 0.0) + amount
        self._ensure_flusher()

    def observe(self, child: object, seconds: float) -> None:
        bucket = bisect_left(LATENCY_BUCKETS, seconds)  # len(...) is the +Inf bucket
        with self._lock:
            pending = self._latencies.get(child)
            if pending is None:
                pending = self._latencies[child] = [0.0, [0] * (len(LATENCY_BUCKETS) + 1)]
            pending[0] += seconds
            pending[1][bucket] += 1
        self._ensure_flusher()

    def flush(self) -> None:
        """Write everything pending into the metric values."""
        with self._lock:
            counts, self._counts = self._counts, {}
            latencies, self._latencies = self._latencies, {}
        for child, amount in counts.items():
            child.inc(amount)  # type: ignore[attr-defined]
        for child, (total, buckets) in latencies.items():
            child._sum.inc(total)  # type: ignore[attr-defined]
            for value, count in zip(child._buckets, buckets, strict=True):  # type: ignore[attr-defined]
                if count:
                    value.inc(count)

    def _ensure_flusher(self) -> None:
        """One flushing thread per process, started by its first recorded request (a forked
        worker has none of its parent's threads)."""
        if self._flusher.claim(self._lock):
            threading.Thread(target=self._flush_forever, name="metrics-flush",
                             daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep flushing; the next scrape shows the gap
                _log.exception("could not write metrics")


PENDING = PendingCounts()
atexit.register(PENDING.flush)


def record_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    key = (endpoint, method_label(method), status)
    children = _request_children.get(key)
    if children is None:
        status_text = str(status)
        children = (REQUESTS.labels(key[0], key[1], status_text),
                    LATENCY.labels(endpoint, status_text))
        _request_children[key] = children
    PENDING.add(children[0])
    PENDING.observe(children[1], seconds)


def record_results(results: list[dict]) -> None:
    PENDING.add(DOCUMENTS, len(results))
    for result in results:
        for tag in result["tags"]:
            theme = tag["theme"]
            child = _tag_children.get(theme)
            if child is None:
                child = _tag_children[theme] = TAGS.labels(theme)
            PENDING.add(child)


def record_model_swap(old: Tagger | None, new: Tagger) -> None:
    if old is not None and (old.name, old.version) != (new.name, new.version):
        MODEL_INFO.labels(old.name, old.version).set(0)
    MODEL_INFO.labels(new.name, new.version).set(1)


def render() -> tuple[bytes, str]:
    """The exposition text for all workers (multiprocess) or this process, this process's
    pending counts written first."""
    PENDING.flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
