"""``tagger retag``: rescore the stored papers with the current model on the bulk engines
(the compiled kernel for large stores), keeping the previous model's tags for comparison,
and count per theme how many papers gain or lose it (``--dry-run``: count only).

Papers are read back a page at a time in ``pk`` order and each page is rewritten in one
transaction, so a killed retag leaves every paper with one model's complete tags, and a rerun
finishes the job (papers already scored by this model keep their previous tags).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from tagger.bulk.batching import Batch
from tagger.bulk.runner import (
    DEFAULT_BATCH_SIZE,
    BulkJob,
    Console,
    default_jobs,
    model_theme_ids,
    score_batches,
)
from tagger.stream.ingest import SCORES, model_identity
from tagger.stream.store import TAGGED, ScoreRow, StreamStore

# --compiled auto: the kernel pays for its start-up from about 15,000 abstracts (the 16 MiB
# of tagger.bulk.scoring.COMPILED_MIN_INPUT_BYTES); a retag has a count, not a file size.
COMPILED_MIN_PAPERS = 15_000


@dataclass
class RetagJob:
    model_dir: Path
    db: str | None = None
    since: datetime | None = None
    dry_run: bool = False
    jobs: int = field(default_factory=default_jobs)
    batch_size: int = DEFAULT_BATCH_SIZE
    compiled: str = "auto"
    quiet: bool = False
    log_interval: float = 10.0


@dataclass
class ThemeChange:
    before: int = 0  # papers tagged with the theme by their current tags
    gain: int = 0
    lose: int = 0

    @property
    def after(self) -> int:
        return self.before + self.gain - self.lose


@dataclass
class RetagSummary:
    papers: int = 0
    model: str = ""
    theme_ids: tuple[str, ...] = ()  # the model's taxonomy order, for the table
    changes: dict[str, ThemeChange] = field(default_factory=dict)

    def add(self, old: dict[str, float], new: ScoreRow) -> None:
        was = {theme for theme, score in old.items() if score >= TAGGED}
        now = {theme for theme, score in new if score >= TAGGED}
        for theme in was | now:
            change = self.changes.setdefault(theme, ThemeChange())
            change.before += theme in was
            change.gain += theme in now - was
            change.lose += theme in was - now

    def table(self) -> str:
        """One line per theme that any paper has or gets, in taxonomy order."""
        lines = [f"{'theme':<32} {'tagged':>8} {'gain':>7} {'lose':>7} {'after':>8}"]
        order = [t for t in self.theme_ids if t in self.changes]
        order += sorted(set(self.changes) - set(order))
        for theme in order:
            c = self.changes[theme]
            lines.append(f"{theme:<32} {c.before:>8,} {'+' + format(c.gain, ','):>7} "
                         f"{'-' + format(c.lose, ','):>7} {c.after:>8,}")
        return "\n".join(lines)


def run_retag(job: RetagJob, stderr: TextIO | None = None) -> RetagSummary:
    """Rescore (or, with ``dry_run``, only compare) every latest paper first seen since
    ``job.since``. Raises :class:`tagger.store.StoreError` and
    :class:`tagger.artifact.ModelError` before any paper is scored."""
    stderr = stderr or sys.stderr
    name, version = model_identity(job.model_dir)
    store = StreamStore.open(job.db, bulk=not job.dry_run)
    summary = RetagSummary(model=f"{name} {version}", theme_ids=model_theme_ids(job.model_dir))
    try:
        total = store.count_latest(job.since)
        compiled = job.compiled
        if compiled == "auto":
            compiled = "on" if total >= COMPILED_MIN_PAPERS else "off"
        bulk = BulkJob(inputs=[], model_dir=job.model_dir, jobs=job.jobs,
                       batch_size=job.batch_size, compiled=compiled, quiet=job.quiet,
                       log_interval=job.log_interval)
        pending: deque[list[int]] = deque()

        def batches() -> Iterator[Batch]:
            for page in store.latest_papers(job.since, size=job.batch_size):
                pending.append([pk for pk, *_ in page])
                yield [(paper_id, title, abstract) for _, paper_id, title, abstract in page]

        model_id = None if job.dry_run else store.model_id(name, version)
        line = "tagger retag: {count} papers " + ("compared" if job.dry_run else "rescored")
        with closing(score_batches(bulk, SCORES, batches(), Console(stderr),
                                   total=lambda: total, line=line)) as scored:
            for count, rows in scored:
                pks = pending.popleft()
                old = store.current_scores(pks)
                for pk, row in zip(pks, rows, strict=True):
                    summary.add(old[pk], row)
                if model_id is not None:
                    store.rescore_batch(pks, rows, model_id)
                summary.papers += count
    finally:
        store.close()
    return summary
