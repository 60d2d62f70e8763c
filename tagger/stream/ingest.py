"""``tagger ingest``: read papers (every format ``tagger tag`` reads, plus arXiv listings),
score them on the bulk engines, and store each batch with its tags in one transaction.

The parent reads, validates and stores; the workers only score (``ScoreRows``: the compact
``(theme, score)`` pairs above the floor, not text). Batches come back in input order, so the
papers of each batch wait in a queue beside the engine until their scores arrive.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tagger.artifact import verify_model_dir
from tagger.arxiv import canonical_id
from tagger.bulk.batching import Batch, batched, count_lines, read_inputs
from tagger.bulk.formats import ScoreRows
from tagger.bulk.runner import DEFAULT_BATCH_SIZE, BulkJob, Console, default_jobs, score_batches
from tagger.bulk.scoring import ScoreOptions
from tagger.corpus import STDIN, CorpusError, Document, RecordError
from tagger.records import ErrorDigest, Limits
from tagger.stream.store import SCORE_FLOOR, BatchCounts, StreamPaper, StreamStore

SCORES = ScoreOptions(ScoreRows(SCORE_FLOOR), all_scores=True)


@dataclass
class IngestJob:
    inputs: list[str]
    model_dir: Path
    db: str | None = None
    jobs: int = field(default_factory=default_jobs)
    batch_size: int = DEFAULT_BATCH_SIZE
    compiled: str = "auto"
    quiet: bool = False
    log_interval: float = 10.0
    limits: Limits = field(default_factory=Limits)
    fmt_in: str | None = None
    show_errors: int = 20


@dataclass
class IngestSummary:
    counts: BatchCounts = field(default_factory=BatchCounts)
    skipped: int = 0
    model: str = ""
    db: str = ""

    @property
    def stored(self) -> int:
        return self.counts.new + self.counts.versions + self.counts.unchanged


def model_identity(model_dir: Path) -> tuple[str, str]:
    """``(name, version)`` from the verified manifest: what every stored tag row records."""
    manifest = verify_model_dir(model_dir)
    return str(manifest.get("name", "unsaved")), str(manifest.get("model_version", "0"))


def stream_paper(doc: Document) -> StreamPaper:
    """A read record as the stream keeps it: arXiv ids in their one spelling, the month from
    the date when the record has only a date."""
    return StreamPaper.make(canonical_id(doc.id) or doc.id, doc.title, doc.abstract,
                            month=doc.month or doc.date[:7], date=doc.date,
                            categories=doc.categories, source=doc.source)


def run_ingest(job: IngestJob, stderr: TextIO | None = None) -> IngestSummary:
    """Store every good record of ``job.inputs``. The store is opened (and migrated) and the
    model verified before any input is read; bad records are reported ``FILE:LINE: reason``
    and skipped. Raises :class:`tagger.store.StoreError` and
    :class:`tagger.artifact.ModelError`."""
    stderr = stderr or sys.stderr
    inputs = job.inputs or [STDIN]
    name, version = model_identity(job.model_dir)
    store = StreamStore.open(job.db, bulk=True)
    summary = IngestSummary(model=f"{name} {version}", db=store.url)
    console = Console(stderr)
    digest = ErrorDigest(console.say, show=job.show_errors)

    def on_error(error: RecordError | CorpusError) -> None:
        summary.skipped += 1
        digest(error)

    pending: deque[tuple[list[StreamPaper], list[bool]]] = deque()

    def batches() -> Iterator[Batch]:
        """Only papers whose text is not stored yet go to the workers (a daily re-read of a
        listing scores nothing it has seen); the others wait beside them, or are stored at
        once when a whole batch is known."""
        documents = (doc for _, doc in read_inputs(inputs, on_error, job.limits, job.fmt_in))
        for chunk in batched(documents, job.batch_size):  # type: ignore[arg-type]
            papers = [stream_paper(doc) for doc in chunk]  # type: ignore[attr-defined]
            stored = store.stored_texts({p.id for p in papers})
            new = [p.id not in stored or p.digest not in stored[p.id][1] for p in papers]
            if not any(new):
                store.mark_seen(sorted({stored[p.id][0] for p in papers}))
                summary.counts.unchanged += len(papers)
                continue
            pending.append((papers, new))
            yield [(p.id, p.title, p.abstract)
                   for p, fresh in zip(papers, new, strict=True) if fresh]

    bulk = BulkJob(inputs=inputs, model_dir=job.model_dir, jobs=job.jobs,
                   batch_size=job.batch_size, compiled=job.compiled, quiet=job.quiet,
                   log_interval=job.log_interval, limits=job.limits, fmt_in=job.fmt_in)
    try:
        model_id = store.model_id(name, version)
        with closing(score_batches(bulk, SCORES, batches(), console,
                                   total=lambda: count_lines(inputs),
                                   line="tagger ingest: {count} papers stored")) as scored:
            for _, rows in scored:
                papers, new = pending.popleft()
                scores = iter(rows)
                summary.counts.add(store.store_batch(
                    papers, [next(scores) if fresh else None for fresh in new], model_id))
    finally:
        digest.finish()
        store.close()
    return summary
