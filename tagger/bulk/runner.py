"""One bulk run: inputs -> batches -> engine -> output, with progress and a summary."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tagger.artifact import MANIFEST_FILE, ModelError, verify_model_dir
from tagger.bulk.batching import Record, batched, count_lines, read_records
from tagger.bulk.formats import Formatter
from tagger.bulk.progress import Progress
from tagger.bulk.resume import SkipDone, open_for_resume
from tagger.bulk.scoring import ScoreOptions
from tagger.corpus import STDIN, CorpusError, RecordError
from tagger.output import AtomicOutput
from tagger.taxonomy import Taxonomy, TaxonomyError

ENGINES = ("local", "dask")
# Measured with benchmarks/bulk_tag.py: throughput is flat from 256 up; 512 keeps the
# in-flight memory small (2 * jobs + 1 batches of raw text and results).
DEFAULT_BATCH_SIZE = 512


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


@dataclass
class BulkJob:
    """Everything ``tagger tag`` was asked to do."""

    inputs: list[str]
    model_dir: Path
    output: str | None = None
    fmt: str = "jsonl"
    explain: bool = False
    all_scores: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    jobs: int = field(default_factory=default_jobs)
    engine: str = "local"
    scheduler: str | None = None
    resume: bool = False
    quiet: bool = False
    log_interval: float = 10.0
    max_in_flight: int | None = None


@dataclass
class Summary:
    tagged: int = 0
    skipped: int = 0
    resumed: int = 0


def _theme_ids(model_dir: Path) -> tuple[str, ...]:
    manifest = verify_model_dir(model_dir)
    try:
        return tuple(Taxonomy.from_dict(manifest.get("taxonomy", {}), source=str(model_dir)).ids)
    except TaxonomyError as error:
        raise ModelError(f"{model_dir / MANIFEST_FILE}: {error}") from None


def make_engine(job: BulkJob, options: ScoreOptions):
    model_dir = str(Path(job.model_dir).resolve())
    if job.engine == "dask":
        from tagger.bulk.dask_engine import DaskEngine

        return DaskEngine(model_dir, options, workers=job.jobs, scheduler=job.scheduler,
                          max_in_flight=job.max_in_flight)
    if job.jobs == 1:
        from tagger.bulk.local import SerialEngine

        return SerialEngine(model_dir, options)
    from tagger.bulk.local import PoolEngine

    return PoolEngine(model_dir, options, job.jobs, max_in_flight=job.max_in_flight)


def run_bulk(job: BulkJob, stderr: TextIO | None = None) -> Summary:
    """Tag every record of ``job.inputs`` into ``job.output`` (stdout when None).

    Raises :class:`ModelError` for an unusable model and
    :class:`tagger.bulk.resume.ResumeError` for an output that cannot be resumed; bad records
    never raise: they are reported on ``stderr`` as ``FILE:LINE: reason`` and counted.
    """
    stderr = stderr or sys.stderr
    inputs = job.inputs or [STDIN]
    formatter = Formatter(job.fmt, _theme_ids(Path(job.model_dir)), job.all_scores)
    options = ScoreOptions(formatter, explain=job.explain, all_scores=job.all_scores)
    summary = Summary()
    show_bar = not job.quiet and stderr.isatty()
    total = count_lines(inputs) if show_bar else None

    progress: Progress | None = None

    def on_error(error: RecordError | CorpusError) -> None:
        summary.skipped += 1
        if progress is not None:
            progress.message(str(error))
        else:
            print(error, file=stderr, flush=True)

    records: Iterator[tuple[str, Record]] = read_records(inputs, on_error)
    with _open_output(job, formatter) as (out, skip):
        plain = skip(records) if skip else (record for _, record in records)
        with make_engine(job, options) as engine:
            # After the engine started: a pool forks, and tqdm starts a monitor thread.
            progress = Progress(stderr, quiet=job.quiet, total=total,
                                interval=job.log_interval)
            try:
                for count, text in engine.map(batched(plain, job.batch_size)):
                    out.write(text)
                    out.flush()
                    summary.tagged += count
                    progress.update(count)
            finally:
                progress.close()
        summary.resumed = skip.resumed if skip else 0
    return summary


class _open_output:
    """The output handle plus, with ``--resume``, the filter skipping what is already done.
    Without ``--resume`` the output is atomic (temporary file renamed on success)."""

    def __init__(self, job: BulkJob, formatter: Formatter):
        self.job = job
        self.formatter = formatter
        self.atomic: AtomicOutput | None = None
        self.handle: TextIO | None = None

    def __enter__(self) -> tuple[TextIO, SkipDone | None]:
        if self.job.resume:
            assert self.job.output not in (None, "-"), "--resume needs an output file"
            self.handle, skip = open_for_resume(Path(self.job.output), self.formatter)
            return self.handle, skip
        self.atomic = AtomicOutput(self.job.output)
        handle = self.atomic.__enter__()
        handle.write(self.formatter.header())
        return handle, None

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.atomic is not None:
            self.atomic.__exit__(exc_type, exc, tb)
        elif self.handle is not None:
            self.handle.close()
