"""Prometheus metrics. Under gunicorn every worker is a separate process, so
``api/gunicorn_conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before prometheus_client is
imported and ``/metrics`` aggregates the per-process files; without it (a single process)
the default registry is used."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from tagger.tagging import Tagger

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


def record_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    key = (endpoint, method_label(method), status)
    children = _request_children.get(key)
    if children is None:
        status_text = str(status)
        children = (REQUESTS.labels(key[0], key[1], status_text),
                    LATENCY.labels(endpoint, status_text))
        _request_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def record_results(results: list[dict]) -> None:
    DOCUMENTS.inc(len(results))
    for result in results:
        for tag in result["tags"]:
            theme = tag["theme"]
            child = _tag_children.get(theme)
            if child is None:
                child = _tag_children[theme] = TAGS.labels(theme)
            child.inc()  # type: ignore[attr-defined]


def record_model_swap(old: Tagger | None, new: Tagger) -> None:
    if old is not None and (old.name, old.version) != (new.name, new.version):
        MODEL_INFO.labels(old.name, old.version).set(0)
    MODEL_INFO.labels(new.name, new.version).set(1)


def render() -> tuple[bytes, str]:
    """The exposition text for all workers (multiprocess) or this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
