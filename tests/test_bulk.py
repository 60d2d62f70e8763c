"""Bulk tagging through the real CLI: streaming in flat memory, order with several workers,
gzip/glob inputs, CSV, resume after a SIGKILL, the Dask engine, exit statuses."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tagger.bulk import batching, resume, runner, scoring
from tagger.bulk.formats import Formatter
from tagger.bulk.progress import Progress
from tagger.bulk.resume import OutputLocked, ResumeError, lock_output, recognise_output
from tagger.bulk.runner import BulkJob, run_bulk

REPO = Path(__file__).resolve().parent.parent
_WORDS = ["kalman", "filter", "state", "space", "forecasting", "sensor", "causal", "graph",
          "search", "hyperparameter", "galaxy", "telescope", "we", "propose", "method",
          "results", "benchmark", "robust", "temporal", "structure", "learning", "data"]


def make_records(n: int, seed: int = 0, words: int = 25, prefix: str = "r") -> list[dict]:
    rng = random.Random(seed)
    return [{"id": f"{prefix}{i:06d}", "abstract": " ".join(rng.choices(_WORDS, k=words))}
            for i in range(n)]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def tagger(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tagger", "tag", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, **kwargs)


def ids_of(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[dict]]:
    records = make_records(3000, seed=1)
    return write_jsonl(tmp_path_factory.mktemp("bulk") / "in.jsonl", records), records


@pytest.fixture(scope="module")
def serial_output(corpus, small_model, tmp_path_factory) -> Path:
    """The reference: one in-process job, default batch size."""
    out = tmp_path_factory.mktemp("ref") / "ref.jsonl"
    result = tagger(corpus[0], "--model", small_model, "--jobs", 1, "-o", out)
    assert result.returncode == 0, result.stderr
    return out


def test_two_jobs_keep_input_order_and_give_identical_output(corpus, small_model,
                                                              serial_output, tmp_path):
    path, records = corpus
    out = tmp_path / "out.jsonl"
    # Small batches: many batches in flight across both workers.
    result = tagger(path, "--model", small_model, "--jobs", 2, "--batch-size", 37, "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == f"tagged {len(records)}, skipped 0"
    assert ids_of(out) == [r["id"] for r in records]
    assert out.read_bytes() == serial_output.read_bytes()
    first = json.loads(out.read_text().splitlines()[0])
    assert set(first) == {"id", "tags"}


def test_memory_stays_flat_on_50000_records(small_model, tmp_path):
    """Peak RSS of the largest process (parent or worker) must not grow with the input: the
    50,000-record run may use at most 10 MB more than a 2,000-record run. Holding the input
    in memory would cost about twice that (50,000 abstracts of ~200 characters, ids, tuples)."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=False, "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    peaks = {}
    for n in (2000, 50000):
        path = write_jsonl(tmp_path / f"in{n}.jsonl", make_records(n, seed=n, words=30))
        out = tmp_path / f"out{n}.jsonl"
        command = [sys.executable, "-c", probe, sys.executable, "-m", "tagger", "tag", str(path),
                   "--model", str(small_model), "--jobs", "2", "-o", str(out), "-q"]
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
        peaks[n] = int(result.stdout) / 1024  # KiB -> MiB
        assert sum(1 for _ in out.open()) == n
    assert peaks[50000] - peaks[2000] < 10, peaks


def test_gzip_csv_inputs_and_globs_in_argument_order(small_model, tmp_path):
    first = make_records(40, seed=2, prefix="a")
    second = make_records(30, seed=3, prefix="b")
    third = make_records(20, seed=4, prefix="c")
    write_jsonl(tmp_path / "part-1.jsonl.gz", first)
    write_jsonl(tmp_path / "part-2.jsonl.gz", second)
    with gzip.open(tmp_path / "extra.csv.gz", "wt", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "abstract"])
        writer.writeheader()
        writer.writerows(third)
    out = tmp_path / "out.jsonl"
    result = tagger(tmp_path / "extra.csv.gz", tmp_path / "part-*.jsonl.gz", "--model",
                    small_model, "--jobs", 2, "--batch-size", 16, "-o", out)
    assert result.returncode == 0, result.stderr
    assert ids_of(out) == [r["id"] for r in third + first + second]
    missing = tagger(tmp_path / "nothing-*.jsonl", "--model", small_model)
    assert missing.returncode == 1
    assert f"{tmp_path / 'nothing-*.jsonl'}: no files match" in missing.stderr


def test_csv_output_matches_json_lines(corpus, small_model, serial_output, tmp_path):
    path, records = corpus
    out = tmp_path / "out.csv"
    result = tagger(path, "--model", small_model, "--format", "csv", "--all-scores",
                    "--jobs", 2, "-o", out)
    assert result.returncode == 0, result.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames[:3] == ["id", "tags", "scores"]
    assert len(reader.fieldnames) == 3 + 19  # one score column per theme
    assert [row["id"] for row in rows] == [r["id"] for r in records]
    expected = [json.loads(line) for line in serial_output.read_text().splitlines()]
    assert any(e["tags"] for e in expected)
    for row, want in zip(rows, expected, strict=True):
        assert row["tags"] == ";".join(t["theme"] for t in want["tags"])
        assert [float(s) for s in row["scores"].split(";") if s] == [
            t["score"] for t in want["tags"]]
        for tag in want["tags"]:
            assert float(row[f"score:{tag['theme']}"]) == tag["score"]


def test_resume_after_sigkill_gives_every_record_exactly_once(small_model, tmp_path):
    records = make_records(6000, seed=5, words=80)
    path = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "tagger", "tag", str(path), "--model", str(small_model),
               "--jobs", "2", "--batch-size", "50", "--resume", "-o", str(out), "-q"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if out.exists() and out.stat().st_size > 10_000:
                break
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its pool workers
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it was killed"
    done = ids_of(out)
    assert 0 < len(done) < len(records)
    with out.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "r0', )  # what a kill in the middle of a write leaves
    result = tagger(*command[4:])
    assert result.returncode == 0, result.stderr
    assert f"resumed: {len(done)} records were already in {out}" in result.stderr
    assert result.stderr.splitlines()[-1] == f"tagged {len(records) - len(done)}, skipped 0"
    assert ids_of(out) == [r["id"] for r in records]


def test_resume_refuses_an_output_of_other_inputs(corpus, small_model, tmp_path):
    out = write_jsonl(tmp_path / "out.jsonl", [{"id": "elsewhere", "tags": []}])
    result = tagger(corpus[0], "--model", small_model, "--resume", "-o", out)
    assert result.returncode == 2
    assert "cannot resume" in result.stderr and "'elsewhere'" in result.stderr
    assert out.read_text() == '{"id": "elsewhere", "tags": []}\n'


def test_dask_engine_on_an_existing_cluster_matches_local(corpus, small_model, serial_output,
                                                          tmp_path, fresh_model_cache):
    """The same output from a cluster's workers; with ``--compiled on`` each worker compiles
    its own kernel and gives the same tags (scores within a unit of the fourth decimal)."""
    distributed = pytest.importorskip("dask.distributed")
    out, compiled = tmp_path / "dask.jsonl", tmp_path / "dask-compiled.jsonl"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=":0") as cluster:
        result = tagger(corpus[0], "--model", small_model, "--engine", "dask", "--scheduler",
                        cluster.scheduler_address, "--batch-size", 200, "-o", out)
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == serial_output.read_bytes()
        result = tagger(corpus[0], "--model", small_model, "--engine", "dask", "--scheduler",
                        cluster.scheduler_address, "--batch-size", 200, "-o", compiled,
                        "--compiled", "on")
    assert result.returncode == 0, result.stderr
    assert [model.estimator.__dict__.get("compiled_scorer_") is not None
            for model in fresh_model_cache.values()] == [True]  # the workers' (in process)
    rows = [[json.loads(line) for line in path.read_text().splitlines()]
            for path in (compiled, serial_output)]
    assert [[(r["id"], [t["theme"] for t in r["tags"]]) for r in rs] for rs in rows] == [
        [(r["id"], [t["theme"] for t in r["tags"]]) for r in rows[1]]] * 2
    np.testing.assert_allclose([t["score"] for r in rows[0] for t in r["tags"]],
                               [t["score"] for r in rows[1] for t in r["tags"]], atol=1.01e-4)


def test_bad_records_are_reported_in_order_and_set_the_exit_status(small_model, tmp_path):
    good = make_records(300, seed=6)
    lines = [json.dumps(r) for r in good]
    lines[10] = "{not json"
    lines[250] = json.dumps({"id": "x"})
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = tagger(path, "--model", small_model, "--jobs", 2, "--batch-size", 20, "-o", out)
    assert result.returncode == 3
    # Progress lines ("tagger tag: N records tagged") may come in between on a slow machine.
    messages = [m for m in result.stderr.splitlines() if not m.startswith("tagger tag: ")]
    assert messages[0].startswith(f"{path}:11: not valid JSON")
    assert messages[1] == f"{path}:251: no 'abstract' field"
    assert messages[-1] == "tagged 298, skipped 2"
    assert len(ids_of(out)) == 298

    broken = tmp_path / "broken.jsonl"
    broken.write_text("{nope\n[1, 2]\n")
    result = tagger(broken, "--model", small_model, "-o", tmp_path / "none.jsonl")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "tagged 0, skipped 2"


@pytest.mark.parametrize("flags", [
    ["--batch-size", "0"],
    ["--resume"],
    ["--explain", "--format", "csv"],
])
def test_usage_errors_exit_2(corpus, small_model, flags):
    result = tagger(corpus[0], "--model", small_model, *flags)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""


def _recognise(path: Path, data: bytes, formatter: Formatter | None = None):
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        return recognise_output(path, fd, formatter or Formatter())
    finally:
        os.close(fd)


def test_recognise_output_finds_the_complete_part_and_never_writes(tmp_path):
    path = tmp_path / "f.jsonl"
    good = b'{"id": "a", "tags": []}\n{"id": "b", "tags": []}\n'
    assert _recognise(path, good + b'{"id": "c", "ta') == (["a", "b"], len(good))
    assert _recognise(path, good) == (["a", "b"], len(good))
    assert _recognise(path, b'{"id') == ([], 0)
    for alien in (b'{"config": 1}', b'{"config": 1}\n{"id": "a", "tags": []}\n',
                  b'{"id": "a", "tags": []}\nplain text', b"no newline at all",
                  b'{"id": "a", "tags": [], "scores": {}}\n',  # written with --all-scores
                  b'{"id": "a", "tags": [], "extra": 1}\n', b"\xff\xfe\n"):
        with pytest.raises(ResumeError, match="left untouched|not tagger output|all-scores"):
            _recognise(path, alien)
        assert path.read_bytes() == alien
    csv_formatter = Formatter("csv")
    header = csv_formatter.header().encode()
    body = header + b'"multi\nline id",time-series,0.9\nb,,\n'
    assert _recognise(path, body + b'"torn\nid",ti', csv_formatter) == (
        ["multi\nline id", "b"], len(body))
    assert _recognise(path, header[:5], csv_formatter) == ([], 0)
    with pytest.raises(ResumeError, match="CSV header"):
        _recognise(path, b"name,value\nx,1\n", csv_formatter)


# --- the compiled scoring path ------------------------------------------------------------

def _scored(path: Path) -> list[tuple[str, list[str], list[float]]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [(r["id"], [t["theme"] for t in r["tags"]], list(r["scores"].values()))
            for r in rows]


def test_compiled_scoring_gives_the_batch_paths_tags_in_every_engine(corpus, small_model,
                                                                      tmp_path):
    """``--compiled on`` (a real kernel in the CLI's processes: in-process, and forked
    workers sharing the parent's) against ``--compiled off``: the same records in the same
    order, the same tags, every score within one unit of the fourth decimal."""
    path, records = corpus
    outputs = {}
    for mode, jobs in (("off", 1), ("on", 1), ("on", 2)):
        out = outputs[mode, jobs] = tmp_path / f"{mode}{jobs}.jsonl"
        result = tagger(path, "--model", small_model, "--jobs", jobs, "--compiled", mode,
                        "--all-scores", "-o", out)
        assert result.returncode == 0, result.stderr
        assert "unavailable" not in result.stderr
    reference = _scored(outputs["off", 1])
    assert [r[0] for r in reference] == [r["id"] for r in records]
    assert sum(bool(r[1]) for r in reference) > 100  # the tags are not all empty
    for key in (("on", 1), ("on", 2)):
        compiled = _scored(outputs[key])
        assert [r[:2] for r in compiled] == [r[:2] for r in reference], key
        np.testing.assert_allclose([r[2] for r in compiled], [r[2] for r in reference],
                                   atol=1.01e-4)


@pytest.fixture
def fresh_model_cache(monkeypatch):
    """An empty per-process model cache, so a model compiled here never scores other tests."""
    monkeypatch.setattr(scoring, "_models", {})
    monkeypatch.setattr(scoring, "_compile_failures", {})
    return scoring._models


def test_a_worker_tries_the_kernel_once_per_model_not_once_per_batch(small_model, monkeypatch,
                                                                     fresh_model_cache):
    """A Dask worker loads the shipped model for every batch (from its cache); a compile that
    failed is not attempted again for each one, and the batches are scored all the same."""
    from tagger.estimator import ThemeClassifier

    attempts = []

    def failing_compile(self):
        attempts.append(self)
        return "the compiler failed (test)"

    monkeypatch.setattr(ThemeClassifier, "compile_scoring", failing_compile)
    payload = scoring.ModelPayload.from_dir(small_model)
    options = scoring.ScoreOptions(Formatter("jsonl"), compiled=True)
    batches = [[(f"p{k}", "T", "A state space model with a kalman filter.")]
               for k in range(4)]
    counts = [scoring.score_with_files(payload.files, payload.digest, batch, options)[0]
              for batch in batches]
    assert counts == [1, 1, 1, 1]
    assert len(attempts) == 1
    scoring.model_from_dir(str(small_model), compiled=True)  # another cache key: its own try
    scoring.model_from_dir(str(small_model), compiled=True)
    assert len(attempts) == 2


def test_a_pool_run_compiles_once_in_the_parent_before_forking(corpus, small_model, tmp_path,
                                                               fresh_model_cache):
    path, records = corpus
    stderr = io.StringIO()
    summary = run_bulk(BulkJob([str(path)], small_model, output=str(tmp_path / "out.jsonl"),
                               jobs=2, quiet=True, compiled="on"), stderr=stderr)
    assert (summary.tagged, summary.engine) == (len(records), "PoolEngine")
    [model] = fresh_model_cache.values()
    assert "compiled_scorer_" in model.estimator.__dict__
    assert stderr.getvalue() == ""


def test_compiled_on_without_the_kernel_says_why_and_tags_everything(corpus, small_model,
                                                                    tmp_path, monkeypatch,
                                                                    fresh_model_cache):
    from tagger.estimator import ThemeClassifier

    monkeypatch.setattr(ThemeClassifier, "compile_scoring",
                        lambda self: "numba is not available (test)")
    path, records = corpus
    stderr = io.StringIO()
    out = tmp_path / "out.jsonl"
    summary = run_bulk(BulkJob([str(path)], small_model, output=str(out), jobs=1, quiet=True,
                               compiled="on"), stderr=stderr)
    assert stderr.getvalue() == ("compiled scoring unavailable (numba is not available "
                                 "(test)); scoring on the batch path\n")
    assert summary.tagged == len(records) and ids_of(out) == [r["id"] for r in records]


def test_compiled_auto_is_on_only_for_inputs_large_enough_to_pay_off(tmp_path, monkeypatch):
    monkeypatch.setattr(scoring, "COMPILED_MIN_INPUT_BYTES", 10_000)
    small = write_jsonl(tmp_path / "a.jsonl", make_records(20))
    assert 2_000 < small.stat().st_size < 5_000
    big = write_jsonl(tmp_path / "b.jsonl", make_records(60))
    zipped = write_jsonl(tmp_path / "c.jsonl.gz", make_records(500))
    assert zipped.stat().st_size * batching.GZIP_RATIO >= 10_000

    def wants(inputs, compiled="auto", small_job=False, documents=None):
        job = BulkJob(list(map(str, inputs)), tmp_path, compiled=compiled,
                      documents=documents)
        return runner.wants_compiled(job, small=small_job)

    assert not wants([small]) and not wants([small, small])
    assert wants([small, small, small])  # the inputs together
    assert wants([big]) and wants([zipped]) and wants([str(tmp_path / "*.jsonl")])
    assert not wants(["-"]) and not wants([tmp_path / "missing.jsonl"])
    assert not wants([big], small_job=True)  # one batch: not worth a second of start-up
    assert not wants([], documents=[])  # --text
    assert wants([small], compiled="on") and not wants([big], compiled="off")


def test_lock_output_when_another_run_creates_the_file_between_its_two_opens(
        tmp_path, monkeypatch):
    """Two runs started together both miss the file; the one whose exclusive create loses
    must open the winner's file and be refused by its lock, not fail with 'File exists'
    (a CI run caught this with two real processes)."""
    import fcntl

    path = tmp_path / "out.jsonl"
    real_open = os.open
    winner: list[int] = []

    def open_racing(name, flags, *args):
        if not winner and not flags & os.O_CREAT:  # the other run creates and locks it now
            winner.append(real_open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666))
            fcntl.flock(winner[0], fcntl.LOCK_EX)
            raise FileNotFoundError(name)
        return real_open(name, flags, *args)

    monkeypatch.setattr(resume.os, "open", open_racing)
    try:
        with pytest.raises(OutputLocked, match=f"pid {os.getpid()}"):
            lock_output(path)
        assert path.exists()  # the winner's file stays
    finally:
        os.close(winner[0])


def test_lock_output_starts_over_when_the_locked_file_was_removed(tmp_path, monkeypatch):
    """A failed run removes the empty output it created while still holding its lock; a run
    that opened that file just before must not keep the lock on the removed file (its
    output would vanish) but lock the file the path names now."""
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"")
    real_lock = resume._lock_or_refuse
    calls = []

    def lock_after_removal(fd, name):
        calls.append(fd)
        if len(calls) == 1:  # the other run unlinks; a third creates a new file
            path.unlink()
            path.write_bytes(b'{"id": "a", "tags": []}\n')
        real_lock(fd, name)

    monkeypatch.setattr(resume, "_lock_or_refuse", lock_after_removal)
    fd, created = lock_output(path)
    try:
        assert len(calls) == 2 and not created
        assert os.fstat(fd).st_ino == path.stat().st_ino
        assert os.pread(fd, 100, 0) == b'{"id": "a", "tags": []}\n'
    finally:
        os.close(fd)


def test_progress_plain_lines_bar_and_quiet():
    plain = io.StringIO()
    progress = Progress(plain, interval=0, tty=False)
    progress.update(512)  # the first result: start-up time is not counted in the rate
    time.sleep(0.01)
    progress.update(512)
    progress.message("f.jsonl:3: empty abstract")
    lines = plain.getvalue().splitlines()
    assert lines[0] == "tagger tag: 512 records tagged"
    assert re.fullmatch(r"tagger tag: 1024 records tagged \(\d+/s\)", lines[1])
    assert lines[2] == "f.jsonl:3: empty abstract"

    quiet = io.StringIO()
    progress = Progress(quiet, quiet=True, interval=0, tty=True)
    progress.update(10)
    progress.message("f.jsonl:3: empty abstract")
    assert quiet.getvalue() == "f.jsonl:3: empty abstract\n"

    bar = io.StringIO()
    progress = Progress(bar, total=100, interval=0, tty=True)
    progress.update(50)
    progress.close()
    assert "50/100" in bar.getvalue()
