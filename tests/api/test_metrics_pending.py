"""Request-path metrics are counted in process and written to prometheus_client's values in
one go (tagger.api.metrics.PendingCounts): the written values equal what direct ``inc`` and
``observe`` calls give, a background thread writes them within a flush interval, and
``/metrics`` writes this process's pending counts before rendering."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram

from tagger.api import create_app, metrics
from tagger.api.metrics import LATENCY_BUCKETS, PendingCounts

SECONDS = [0.0004, 0.001, 0.0011, 0.003, 0.0075, 0.2, 3.0, 11.0, 0.001, 0.05]


def twins() -> tuple[CollectorRegistry, CollectorRegistry, tuple, tuple]:
    def make():
        registry = CollectorRegistry()
        counter = Counter("c_total", "c", ["k"], registry=registry)
        histogram = Histogram("h_seconds", "h", ["k"], buckets=LATENCY_BUCKETS,
                              registry=registry)
        return registry, counter, histogram

    direct, pending = make(), make()
    return direct[0], pending[0], direct[1:], pending[1:]


def samples(registry: CollectorRegistry) -> dict:
    """Every sample but the creation timestamps (the twins were made microseconds apart)."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in registry.collect() for sample in family.samples
            if not sample.name.endswith("_created")}


def test_flushed_values_equal_direct_increments_and_observations():
    direct_registry, pending_registry, (counter, histogram), (p_counter, p_histogram) = twins()
    pending = PendingCounts(flush_seconds=3600)  # only explicit flushes here
    for i, seconds in enumerate(SECONDS):
        key = "a" if i % 3 else "b"
        counter.labels(key).inc(i)
        histogram.labels(key).observe(seconds)
        pending.add(p_counter.labels(key), i)
        pending.observe(p_histogram.labels(key), seconds)
    assert samples(pending_registry) != samples(direct_registry)  # not yet
    pending.flush()
    assert samples(pending_registry) == samples(direct_registry)
    pending.flush()  # nothing pending: nothing changes
    assert samples(pending_registry) == samples(direct_registry)


def test_a_background_thread_writes_pending_counts_within_the_interval():
    _direct, registry, _, (counter, _histogram) = twins()
    pending = PendingCounts(flush_seconds=0.05)
    pending.add(counter.labels("x"), 3)
    deadline = time.monotonic() + 10
    while registry.get_sample_value("c_total", {"k": "x"}) != 3:
        assert time.monotonic() < deadline, "the flusher never wrote the count"
        time.sleep(0.01)


def test_metrics_endpoint_shows_this_processes_requests_at_once(small_model, monkeypatch):
    monkeypatch.setattr(metrics.PENDING, "flush_seconds", 3600)  # no background flush
    client = create_app({"model_dir": small_model}).test_client()
    before = client.get("/metrics").text
    for _ in range(3):
        assert client.post("/v1/tag", json={"abstract": "Time series forecasting."}).status_code \
            == 200
    after = client.get("/metrics").text

    def requests_total(text: str) -> float:
        for line in text.splitlines():
            if line.startswith("tagger_http_requests_total{") and 'endpoint="/v1/tag"' in line \
                    and 'status="200"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    assert requests_total(after) - requests_total(before) == 3
