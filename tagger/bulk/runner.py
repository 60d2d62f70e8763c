"""One bulk run: inputs -> batches -> engine -> output, with progress and a summary.

Order matters for the user's files: the output is checked (and, with ``--resume``, locked and
recognised) before the model is loaded or an input record read, so a run that cannot finish
fails at once and leaves every file as it was.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from pathlib import Path
from typing import Any, TextIO

from tagger.artifact import MANIFEST_FILE, ModelError, verify_model_dir
from tagger.bulk import scoring
from tagger.bulk.batching import Batch, Record, batched, count_lines, read_records
from tagger.bulk.formats import Formatter
from tagger.bulk.progress import Progress
from tagger.bulk.resume import ResumeOutput, SkipDone
from tagger.bulk.scoring import ScoreOptions, model_from_dir, use_compiled
from tagger.corpus import STDIN, CorpusError, Document, RecordError
from tagger.output import AtomicOutput, OutputError, check_output_path
from tagger.records import ErrorDigest, Limits
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
    """Everything ``tagger tag`` was asked to do. ``documents`` (``--text``) replaces
    ``inputs``; ``fmt_in`` forces the input format (``text`` for plain text on stdin)."""

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
    limits: Limits = field(default_factory=Limits)
    fmt_in: str | None = None
    documents: list[Document] | None = None
    show_errors: int = 20
    compiled: str = "auto"


@dataclass
class Summary:
    tagged: int = 0
    skipped: int = 0
    resumed: int = 0
    engine: str = ""


def model_theme_ids(model_dir: Path) -> tuple[str, ...]:
    """The theme ids of a model directory's taxonomy, from its verified manifest (the model
    itself is not loaded)."""
    manifest = verify_model_dir(model_dir)
    try:
        return tuple(Taxonomy.from_dict(manifest.get("taxonomy", {}), source=str(model_dir)).ids)
    except (TaxonomyError, AttributeError, TypeError) as error:
        raise ModelError(f"{model_dir / MANIFEST_FILE}: {error}") from None


def wants_compiled(job: BulkJob, small: bool) -> bool:
    """Whether to score through the compiled kernel (:func:`scoring.wants_compiled`); never
    under ``auto`` for one batch or ``--text``."""
    return scoring.wants_compiled(job.compiled, job.inputs,
                                  eligible=not small and job.documents is None)


def model_key(job: BulkJob) -> str:
    """The model directory as engines and the per-process model cache name it: resolved once
    (``models/current`` to the version it points at now)."""
    return str(Path(job.model_dir).resolve())


def make_engine(job: BulkJob, options: ScoreOptions, small: bool = False):
    """The engine for ``job``; ``small`` (the whole input fits in one batch) scores in this
    process: a pool would cost more to start than the work."""
    model_dir = model_key(job)
    if job.engine == "dask":
        from tagger.bulk.dask_engine import DaskEngine

        return DaskEngine(model_dir, options, workers=job.jobs, scheduler=job.scheduler,
                          max_in_flight=job.max_in_flight)
    if job.jobs == 1 or small:
        from tagger.bulk.local import SerialEngine

        return SerialEngine(model_dir, options)
    from tagger.bulk.local import PoolEngine

    return PoolEngine(model_dir, options, job.jobs, max_in_flight=job.max_in_flight)


def run_bulk(job: BulkJob, stderr: TextIO | None = None) -> Summary:
    """Tag every record of ``job.inputs`` into ``job.output`` (stdout when None).

    Raises :class:`ModelError` for an unusable model, :class:`OutputError` for an output that
    cannot be written and :class:`tagger.bulk.resume.ResumeError` for one that cannot be
    resumed (in each case before any input is read, and leaving existing files untouched).
    Bad records never raise: the first ``job.show_errors`` are reported on ``stderr`` as
    ``FILE:LINE: reason``, then counted per reason, and the run goes on.
    """
    stderr = stderr or sys.stderr
    check_output_path(job.output, resume=job.resume)
    inputs = job.inputs or [STDIN]
    formatter = Formatter(job.fmt, model_theme_ids(Path(job.model_dir)), job.all_scores)
    options = ScoreOptions(formatter, explain=job.explain, all_scores=job.all_scores)
    summary = Summary()
    console = Console(stderr)
    digest = ErrorDigest(console.say, show=job.show_errors)

    def on_error(error: RecordError | CorpusError) -> None:
        summary.skipped += 1
        digest(error)

    records: Iterator[tuple[str, Record]] = (
        (("--text", (d.id, d.title, d.abstract)) for d in job.documents)
        if job.documents is not None
        else read_records(inputs, on_error, limits=job.limits, fmt=job.fmt_in))
    try:
        with _open_output(job, formatter) as (out, skip):
            plain = skip(records) if skip else (record for _, record in records)
            total = (lambda: count_lines(inputs)) if job.documents is None else None
            with closing(score_batches(job, options, batched(plain, job.batch_size),
                                       console, total)) as scored:
                for count, text in scored:
                    _write(out, text, job.output)
                    summary.tagged += count
            summary.engine = console.engine
            summary.resumed = skip.resumed if skip else 0
    finally:
        digest.finish()
    return summary


class Console:
    """Where a run's messages go: through the progress bar while one is showing (a plain
    print would break it), else straight to the stream."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.progress: Progress | None = None
        self.engine = ""  # the engine's class name, once one started

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress.message(text)
        else:
            print(text, file=self.stream, flush=True)


def score_batches(job: BulkJob, options: ScoreOptions, batches: Iterator[Batch],
                  console: Console, total: Callable[[], int | None] | None = None,
                  line: str = "tagger tag: {count} records tagged"
                  ) -> Iterator[tuple[int, Any]]:
    """Score ``batches`` on the engine ``job`` asks for and yield each batch's ``(count,
    output)`` in input order, with progress on ``console``: the loop every bulk command
    shares (``tagger tag``, ``tagger ingest``, ``tagger retag``). Nothing is loaded for an
    empty input; one batch is scored in this process. ``total`` counts the records for a
    progress bar's ETA (called only when a bar shows); ``line`` is the periodic progress
    line without a terminal. Close the generator (``closing``)
    so an error in the caller stops the engine at once."""
    head = list(islice(batches, 2))  # a one-batch input is a small job
    if not head:  # nothing to score: no model to load
        return
    small = len(head) < 2
    if wants_compiled(job, small):
        options = replace(options, compiled=_compile_here(job, console.say))
    engine = make_engine(job, options, small=small)
    console.engine = type(engine).__name__
    show_bar = not (job.quiet or small) and console.stream.isatty()
    count = total() if show_bar and total is not None else None
    with engine:
        # After the engine started: a pool forks, and tqdm starts a monitor thread.
        console.progress = Progress(console.stream, quiet=job.quiet or small, total=count,
                                    interval=job.log_interval, line=line)
        try:
            for done, output in engine.map(chain(head, batches)):
                yield done, output
                console.progress.update(done)
        finally:
            console.progress.close()
            console.progress = None


def _compile_here(job: BulkJob, say: Callable[[str], None]) -> bool:
    """Load the model and compile its scoring in this process, before a local pool forks
    (its workers then share the machine code); say why not when it cannot. A Dask engine's
    workers compile their own copy."""
    if job.engine != "local":
        return True
    return use_compiled(model_from_dir(model_key(job)), say)


def _write(out, text: str, path: str | None) -> None:
    try:
        out.write(text)
        out.flush()
    except OSError as error:
        if path in (None, "-"):
            raise
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from None


class _open_output:
    """The output handle plus, with ``--resume``, the filter skipping what is already done.
    Without ``--resume`` the output is atomic (temporary file renamed on success)."""

    def __init__(self, job: BulkJob, formatter: Formatter):
        self.job = job
        self.formatter = formatter
        self.atomic: AtomicOutput | None = None
        self.resume: ResumeOutput | None = None
        self.guard: int | None = None  # lock on the file being replaced, until the rename

    def __enter__(self) -> tuple[TextIO | ResumeOutput, SkipDone | None]:
        if self.job.resume:
            assert self.job.output not in (None, "-"), "--resume needs an output file"
            self.resume = ResumeOutput(Path(self.job.output), self.formatter, self.job.explain)
            try:
                skip = self.resume.open()
            except OSError as error:
                raise OutputError(f"{self.job.output}: {error.strerror or error}") from None
            return self.resume, skip
        if self.job.output not in (None, "-"):
            from tagger.bulk.resume import lock_existing_output

            self.guard = lock_existing_output(Path(self.job.output))
        self.atomic = AtomicOutput(self.job.output)
        try:
            handle = self.atomic.__enter__()
        except BaseException:
            if self.guard is not None:
                os.close(self.guard)
            raise
        _write(handle, self.formatter.header(), self.job.output)
        return handle, None

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.atomic is not None:
            try:
                self.atomic.__exit__(exc_type, exc, tb)
            finally:
                if self.guard is not None:
                    os.close(self.guard)
        elif self.resume is not None:
            try:
                self.resume.close(failed=exc_type is not None)
            except OSError as error:
                if exc_type is None:
                    raise OutputError(f"{self.job.output}: cannot write: "
                                      f"{error.strerror or error}") from None


def documents_from_text(abstract: str, title: str, limits: Limits) -> list[Document]:
    """``--text``/``--title`` as one record (id ``text``), checked by the shared rules."""
    from tagger.records import record_problem

    problem = record_problem({"abstract": abstract, "title": title}, limits)
    if problem:
        raise ValueError(f"--{'text' if problem[0] == 'abstract' else problem[0]}: {problem[1]}")
    return [Document(id="text", abstract=abstract.strip(), title=" ".join(title.split()))]

