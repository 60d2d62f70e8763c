"""The CLI never harms a user's files and fails early and clearly (issue 12), each case run
through the real ``tagger`` command in a subprocess: an unrelated file given to ``--resume``
stays byte-identical, a second run on a locked output is refused naming the holder, an
over-long abstract is skipped with its line named, FIFOs and permission problems are one-line
errors (never a hang or a traceback), ``-o`` is checked before any input is read, a full or
read-only filesystem leaves no temp file, CSV resume handles ids with newlines."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO

ABSTRACT = ("We study forecasting of seasonal sensor data with a state space model and a "
            "Kalman filter over a long horizon.")


def run_tagger(*args, stdin: str | None = None, env: dict | None = None, timeout: float = 300,
               user: int | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tagger", *map(str, args)]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=REPO,
                          timeout=timeout, env={**os.environ, **(env or {})})


def records(n: int, prefix: str = "r") -> list[dict]:
    return [{"id": f"{prefix}{i}", "abstract": f"{ABSTRACT} Variant {i}."} for i in range(n)]


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in items), encoding="utf-8")
    return path


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 1 or 2, no traceback, and the last stderr line is the error naming ``needles``."""
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for needle in needles:
        assert needle in last, last
    return last


# --- --resume never harms an unrelated file --------------------------------------------------

@pytest.mark.parametrize("content", [
    b'{"config":1}',                                  # the settings.json
    b'{"config": 1}\n{"debug": true}',                # two lines, the last one "torn"
    b'{"id": "r0", "tags": []}\n{"id": "zz", "tags": []}\n',  # tagger output, other inputs
    b"name,value\nx,1\n",
    b'{"id": "r0", "tags": [], "scores": {}}\n',      # written with --all-scores
], ids=["settings-json", "two-lines", "other-inputs", "csv", "other-options"])
def test_resume_leaves_an_unrelated_file_byte_identical(small_model, tmp_path, content):
    source = write_jsonl(tmp_path / "in.jsonl", records(3))
    target = tmp_path / "settings.json"
    target.write_bytes(content)
    before = target.stat()
    result = run_tagger("tag", source, "--resume", "-o", target, "--model", small_model)
    assert_one_line_error(result, "cannot resume", str(target))
    assert "untouched" in result.stderr
    assert target.read_bytes() == content
    assert target.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "settings.json"]


def test_resume_appends_after_a_torn_line_of_its_own_output(small_model, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", records(5))
    full = tmp_path / "full.jsonl"
    assert run_tagger("tag", source, "-o", full, "--model", small_model).returncode == 0
    lines = full.read_bytes().splitlines(keepends=True)
    partial = tmp_path / "partial.jsonl"
    partial.write_bytes(b"".join(lines[:2]) + lines[2][:15])  # killed mid-line
    result = run_tagger("tag", source, "--resume", "-o", partial, "--model", small_model)
    assert result.returncode == 0, result.stderr
    assert "resumed: 2 records" in result.stderr
    assert partial.read_bytes() == full.read_bytes()


def test_a_second_run_on_a_locked_output_is_refused_naming_the_holder(small_model, tmp_path):
    """The lock is held by this test process (a real ``flock`` from another process): the CLI
    must refuse at once, name our pid, and leave the file as it was."""
    source = write_jsonl(tmp_path / "in.jsonl", records(3))
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "r0", "tags": []}\n')
    with out.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        result = run_tagger("tag", source, "--resume", "-o", out, "--model", small_model)
    assert_one_line_error(result, str(out), f"pid {os.getpid()}", "another tagger run")
    assert result.returncode == 1
    assert out.read_bytes() == b'{"id": "r0", "tags": []}\n'


def test_a_plain_run_never_replaces_an_output_a_resume_run_is_writing(small_model, tmp_path):
    """Without --resume the output is replaced by a rename; while another run holds the
    resume lock on the file, that would send the other run's appends to an unlinked file.
    The plain run is refused instead, the file untouched; once the lock is gone it runs."""
    source = write_jsonl(tmp_path / "in.jsonl", records(3))
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "r0", "tags": []}\n')
    with out.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        result = run_tagger("tag", source, "-o", out, "--model", small_model)
        assert_one_line_error(result, str(out), f"pid {os.getpid()}", "another tagger run")
        assert "cannot resume" not in result.stderr
        assert result.returncode == 1
        assert out.read_bytes() == b'{"id": "r0", "tags": []}\n'
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    again = run_tagger("tag", source, "-o", out, "--model", small_model)
    assert again.returncode == 0, again.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        r["id"] for r in records(3)]


def test_two_concurrent_resumes_never_duplicate_records(small_model, tmp_path):
    """Two real runs started together on one output: one finishes, the other is refused (or,
    if it started after the first finished, finds everything done); never 2x the records."""
    items = records(600)
    source = write_jsonl(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "tagger", "tag", str(source), "--resume", "-o", str(out),
               "--model", str(small_model), "--jobs", "1", "--batch-size", "50", "-q"]
    procs = [subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == [r["id"] for r in items]
    refused = [err for code, err in results if code != 0]
    assert all("another tagger run (pid " in err for err in refused), results


def test_csv_resume_with_newlines_in_ids(small_model, tmp_path):
    items = [{"id": f"paper\n{i}\r\nline", "abstract": f"{ABSTRACT} {i}"} for i in range(4)]
    source = write_jsonl(tmp_path / "in.jsonl", items)
    full = tmp_path / "full.csv"
    assert run_tagger("tag", source, "--format", "csv", "-o", full,
                      "--model", small_model).returncode == 0
    text = full.read_bytes()
    rows = list(csv.reader(io.StringIO(text.decode(), newline="")))
    assert [row[0] for row in rows[1:]] == [r["id"] for r in items]
    second_row_end = text.index(b"\n", text.index(b"paper\n1") + 14) + 1
    partial = tmp_path / "partial.csv"
    partial.write_bytes(text[:second_row_end + 9])  # two rows and a torn third (in its id)
    result = run_tagger("tag", source, "--format", "csv", "--resume", "-o", partial,
                        "--model", small_model)
    assert result.returncode == 0, result.stderr
    assert "resumed: 2 records" in result.stderr
    assert partial.read_bytes() == text


# --- limits, messages and the summary ----------------------------------------------------------

def test_a_1mb_abstract_is_skipped_with_its_line_named(small_model, tmp_path):
    items = records(3)
    items.insert(1, {"id": "huge", "abstract": "word " * 200_000})  # 1 MB, valid JSON
    source = write_jsonl(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"
    result = run_tagger("tag", source, "-o", out, "--model", small_model)
    assert result.returncode == 3, result.stderr
    assert f"{source}:2: abstract is longer than 20,000 characters (1,000,000)" in (
        result.stderr.splitlines())
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        "r0", "r1", "r2"]
    # The same limit from the environment (as the API) and from the flag.
    small = run_tagger("tag", source, "-o", out, "--model", small_model,
                       env={"TAGGER_MAX_ABSTRACT_CHARS": "50"})
    assert small.returncode == 1 and "tagged 0, skipped 4" in small.stderr
    flag = run_tagger("tag", source, "-o", out, "--model", small_model,
                      "--max-abstract-chars", "2000000")
    assert flag.returncode == 0 and "tagged 4, skipped 0" in flag.stderr
    bad_env = run_tagger("tag", source, "--model", small_model,
                         env={"TAGGER_MAX_ABSTRACT_CHARS": "lots"})
    assert_one_line_error(bad_env, "TAGGER_MAX_ABSTRACT_CHARS='lots'")


def test_thousands_of_identical_errors_become_a_summary(small_model, tmp_path):
    lines = [json.dumps({"id": f"n{i}", "abstract": None}) for i in range(500)]
    lines += ['{"id": "cut", "abstract": "We stu'] * 30 + [json.dumps(records(1)[0])]
    source = tmp_path / "nulls.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = run_tagger("tag", source, "-o", tmp_path / "out.jsonl", "--model", small_model)
    assert result.returncode == 3
    messages = result.stderr.strip().splitlines()
    assert messages[:20] == [f"{source}:{i}: abstract is null" for i in range(1, 21)]
    assert messages[20:] == [
        "... and 510 more skipped records not shown, by reason:",
        f"  480 x abstract is null (first at {source}:21)",
        f"  30 x JSON ends early (truncated line?) (first at {source}:501)",
        "tagged 1, skipped 530",
    ]


# --- files that are not what they seem ---------------------------------------------------------

@pytest.fixture()
def fifo_model(small_model, tmp_path) -> Path:
    model = tmp_path / "fifo-model"
    shutil.copytree(small_model, model)
    (model / "manifest.json").unlink()
    os.mkfifo(model / "manifest.json")
    return model


@pytest.mark.parametrize("command", [
    ["info"], ["tag", "--text", ABSTRACT], ["publish", "{model}", "--models-root", "{root}"]],
    ids=["info", "tag", "publish"])
def test_a_fifo_manifest_is_refused_without_hanging(fifo_model, tmp_path, command):
    args = [a.format(model=fifo_model, root=tmp_path / "root") for a in command]
    if command[0] != "publish":
        args += ["--model", str(fifo_model)]
    result = run_tagger(*args, timeout=120)  # a hang fails here, as TimeoutExpired
    assert_one_line_error(result, "manifest.json", "not a regular file")
    assert not (tmp_path / "root" / "current").exists()


def test_a_fifo_or_directory_input_is_refused_without_hanging(small_model, tmp_path):
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "folder.jsonl").mkdir()
    good = write_jsonl(tmp_path / "good.jsonl", records(1))
    result = run_tagger("tag", tmp_path / "pipe.jsonl", tmp_path / "folder.jsonl", good,
                        "--model", small_model, timeout=120)
    assert result.returncode == 3
    assert f"{tmp_path / 'pipe.jsonl'}: cannot read: a FIFO, not a regular file" in (
        result.stderr)
    assert f"{tmp_path / 'folder.jsonl'}: cannot read: a directory, not a regular file" in (
        result.stderr)


def test_output_a_directory_fails_before_reading_input(small_model, tmp_path):
    """stdin stays open and empty: a command that read its input first would block."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tagger", "tag", "-o", str(tmp_path), "--model",
         str(small_model)], cwd=REPO, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 1
    assert stderr.strip() == f"tagger tag: error: {tmp_path}: is a directory; -o needs a file name"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_publish_on_a_symlink_loop_is_one_line(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    result = run_tagger("publish", tmp_path / "loop", "--models-root", tmp_path / "root")
    assert_one_line_error(result, "loop", "symlink loop")


def test_info_on_a_manifest_with_odd_field_types(small_model, tmp_path):
    model = tmp_path / "odd"
    shutil.copytree(small_model, model)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest.update(design="v4", training=["x"], cv_metrics={"micro_f1": "high"},
                    training_data="seed.jsonl", created=None)
    (model / "manifest.json").write_text(json.dumps(manifest))
    result = run_tagger("info", "--model", model)
    assert result.returncode == 0, result.stderr
    assert "design     ?" in result.stdout and "micro-F1 ?" in result.stdout


def test_a_bad_environment_value_does_not_break_unrelated_commands():
    result = run_tagger("themes", env={"TAGGER_WORKERS": "two"})
    assert result.returncode == 0 and "themes" in result.stdout
    served = run_tagger("serve", env={"TAGGER_WORKERS": "two"})
    assert_one_line_error(served, "TAGGER_WORKERS='two'")
    assert served.returncode == 2


# --- permissions and full or read-only filesystems (root only) ------------------------------

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root (to run the CLI as an unprivileged user or mount a tmpfs) and setpriv")
NOBODY = 65534


@pytest.fixture()
def shared_tmp():
    """A directory an unprivileged user can traverse (pytest's tmp_path is 0700 root's)."""
    folder = Path(tempfile.mkdtemp(prefix="tagger-perm-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_root
def test_permission_denied_on_model_files_as_an_unprivileged_user(small_model, shared_tmp):
    model = shared_tmp / "model"
    shutil.copytree(small_model, model)
    for path in [model, *model.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    source = write_jsonl(shared_tmp / "in.jsonl", records(1))
    source.chmod(0o644)
    if run_tagger("info", "--model", model, user=NOBODY).returncode != 0:
        pytest.skip("the unprivileged user cannot run this checkout's Python")
    weights = next(p for p in model.iterdir() if p.name != "manifest.json")
    weights.chmod(0o000)
    for args in (["tag", source, "--model", model], ["tag", "--text", ABSTRACT, "--model", model]):
        result = run_tagger(*args, user=NOBODY)
        assert_one_line_error(result, weights.name)
    (model / "manifest.json").chmod(0o000)
    result = run_tagger("info", "--model", model, user=NOBODY)
    assert_one_line_error(result, "manifest.json")
    model.chmod(0o700)
    result = run_tagger("publish", model, "--models-root", shared_tmp / "root", user=NOBODY)
    assert_one_line_error(result, str(model))


@needs_root
def test_output_without_write_permission_fails_before_work(small_model, shared_tmp):
    locked = shared_tmp / "locked"
    locked.mkdir(mode=0o755)
    source = write_jsonl(shared_tmp / "in.jsonl", records(1))
    source.chmod(0o644)
    model = shared_tmp / "model"
    shutil.copytree(small_model, model)
    for path in [model, *model.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    result = run_tagger("tag", source, "-o", locked / "out.jsonl", "--model", model,
                        user=NOBODY)
    if "cannot run" in result.stderr:
        pytest.skip("the unprivileged user cannot run this checkout's Python")
    assert_one_line_error(result, str(locked), "permission denied")
    assert list(locked.iterdir()) == []


@pytest.fixture()
def tiny_fs():
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    folder = Path(tempfile.mkdtemp(prefix="tagger-tmpfs-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)
    folder.rmdir()


def test_full_filesystem_is_one_line_and_leaves_no_temp_file(small_model, tmp_path, tiny_fs):
    source = write_jsonl(tmp_path / "in.jsonl", records(1500))  # ~200 KB of output
    result = run_tagger("tag", source, "-o", tiny_fs / "out.jsonl", "--model", small_model,
                        "--batch-size", "100")
    assert_one_line_error(result, str(tiny_fs / "out.jsonl"), "No space left on device")
    assert list(tiny_fs.iterdir()) == []


def test_read_only_filesystem_fails_before_work(small_model, tmp_path, tiny_fs):
    (tiny_fs / "old.jsonl").write_text('{"id": "r0", "tags": []}\n')
    remount = subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], capture_output=True)
    if remount.returncode != 0:
        pytest.skip("cannot remount the tmpfs read-only")
    source = write_jsonl(tmp_path / "in.jsonl", records(2))
    result = run_tagger("tag", source, "-o", tiny_fs / "out.jsonl", "--model", small_model)
    assert_one_line_error(result, str(tiny_fs), "read-only file system")
    resumed = run_tagger("tag", source, "--resume", "-o", tiny_fs / "old.jsonl",
                         "--model", small_model)
    assert_one_line_error(resumed, "old.jsonl")
    assert (tiny_fs / "old.jsonl").read_text() == '{"id": "r0", "tags": []}\n'


# --- small jobs -------------------------------------------------------------------------------

def test_text_flag_tags_one_abstract(small_model):
    result = run_tagger("tag", "--text", ABSTRACT, "--title", "Seasonal forecasting",
                        "--model", small_model)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["id"] == "text"
    assert "time-series" in [tag["theme"] for tag in record["tags"]]
    assert result.stderr.strip() == "tagged 1, skipped 0"  # no progress line for one record
    empty = run_tagger("tag", "--text", "   ", "--model", small_model)
    assert_one_line_error(empty, "--text: abstract is empty")
    both = run_tagger("tag", "in.jsonl", "--text", ABSTRACT, "--model", small_model)
    assert both.returncode == 2


def test_plain_text_on_stdin(small_model):
    """Detected (does not start with '{'), or forced with --format-in text; the same scores as
    the same abstract given as JSON."""
    as_json = run_tagger("tag", "-", "--model", small_model,
                         stdin=json.dumps({"id": "1", "abstract": ABSTRACT}) + "\n")
    detected = run_tagger("tag", "--model", small_model, stdin=ABSTRACT + "\n")
    forced = run_tagger("tag", "-", "--format-in", "text", "--model", small_model,
                        stdin="Seasonal forecasting\n" + ABSTRACT + "\n")
    for result in (as_json, detected, forced):
        assert result.returncode == 0, result.stderr
    assert detected.stdout == as_json.stdout
    assert json.loads(forced.stdout)["id"] == "1"


def test_the_engine_for_one_batch_is_in_process(small_model, tmp_path):
    from tagger.bulk.runner import BulkJob, run_bulk

    source = write_jsonl(tmp_path / "in.jsonl", records(3))
    stderr = io.StringIO()
    summary = run_bulk(BulkJob(inputs=[str(source)], model_dir=small_model, jobs=4,
                               output=str(tmp_path / "o.jsonl")), stderr=stderr)
    assert (summary.tagged, summary.engine) == (3, "SerialEngine")
    assert stderr.getvalue() == ""


def test_cli_constants_match_the_bulk_package():
    from tagger.bulk import formats, runner, scoring
    from tagger.cli import tag

    assert (tag.FORMATS, tag.ENGINES, tag.COMPILED_CHOICES, tag.DEFAULT_BATCH_SIZE) == (
        formats.FORMATS, runner.ENGINES, scoring.COMPILED_CHOICES, runner.DEFAULT_BATCH_SIZE)


# --- evaluate on the training data ----------------------------------------------------------

def test_evaluate_warns_on_the_models_own_training_file(small_model, labelled_corpus, tmp_path):
    from tagger.artifact import sha256_file

    model = tmp_path / "model"
    shutil.copytree(small_model, model)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["training_data"] = [{"file": labelled_corpus.name, "records": 160,
                                  "sha256": sha256_file(labelled_corpus)}]
    (model / "manifest.json").write_text(json.dumps(manifest))
    result = run_tagger("evaluate", "--data", labelled_corpus, "--model", model, "--json")
    assert result.returncode == 0, result.stderr
    assert (f"tagger evaluate: warning: {labelled_corpus} is the model's training file "
            f"{labelled_corpus.name} (same SHA-256)") in result.stderr
    overlap = json.loads(result.stdout)["training_overlap"]
    assert overlap["same_files"] == [{"file": str(labelled_corpus),
                                      "training_file": labelled_corpus.name}]
    assert overlap["shared_ids"] == 160

    # A different file sharing ids with the (found) training file: warned by id.
    subset = tmp_path / "subset.jsonl"
    lines = labelled_corpus.read_text().splitlines()[:10]
    subset.write_text("\n".join(lines) + "\n")
    shutil.copy(labelled_corpus, tmp_path / labelled_corpus.name)
    by_id = run_tagger("evaluate", "--data", subset, "--model", model, "--json")
    assert "10 of 10 evaluation records have ids of the model's training records" in (
        by_id.stderr)
    assert json.loads(by_id.stdout)["training_overlap"]["shared_ids"] == 10

    clean = run_tagger("evaluate", "--data", subset, "--model", small_model, "--json")
    assert "warning" not in clean.stderr
    assert json.loads(clean.stdout)["training_overlap"]["same_files"] == []



def test_a_fifo_taxonomy_is_refused_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "taxonomy.toml")
    result = run_tagger("themes", "--taxonomy", tmp_path / "taxonomy.toml", timeout=120)
    assert_one_line_error(result, "taxonomy.toml: not a regular file")


def test_output_to_a_device_is_written_directly_never_replaced(small_model):
    """``-o /dev/null`` writes to the device; a temporary file renamed over it (as root) would
    have replaced /dev/null itself. ``--resume`` needs a regular file."""
    result = run_tagger("tag", "--text", ABSTRACT, "-o", "/dev/null", "--model", small_model)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    resumed = run_tagger("tag", "--text", ABSTRACT, "-o", "/dev/null", "--resume",
                         "--model", small_model)
    assert_one_line_error(resumed, "/dev/null: not a regular file; --resume needs one")
