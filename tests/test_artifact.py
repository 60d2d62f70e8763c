"""Model artifacts are verified before anything is unpickled, and saving is atomic: a tampered,
incomplete or mixed-up model directory is refused with the file named, and a training killed
mid-way never leaves a half-written model under the output name."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tagger.artifact import (
    MANIFEST_FILE,
    MODEL_FILE,
    ModelError,
    load_model,
    read_manifest,
    remove_stale_work_dirs,
    save_model,
    verify_model_dir,
)
from tagger.cli import main as tagger_main
from tagger.taxonomy import Taxonomy
from tests.conftest import REPO, make_labelled_corpus, write_jsonl


def run_tagger(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tagger", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300, **kwargs)


@pytest.fixture
def model_copy(small_model, tmp_path) -> Path:
    return Path(shutil.copytree(small_model, tmp_path / "model"))


def flip_byte(path: Path, position: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    index = len(data) // 2 if position is None else position
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


def rewrite_manifest(model_dir: Path, change) -> None:
    path = model_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_an_intact_copy_verifies_and_loads(model_copy, small_model):
    assert verify_model_dir(model_copy) == read_manifest(small_model)
    assert load_model(model_copy).estimator.thresholds_.shape == (19,)


def test_flipped_byte_is_refused_by_cli_and_library(model_copy, tmp_path):
    flip_byte(model_copy / MODEL_FILE)
    target = model_copy / MODEL_FILE
    with pytest.raises(ModelError, match="checksum mismatch"):
        verify_model_dir(model_copy)
    with pytest.raises(ModelError) as error:
        load_model(model_copy)
    assert str(error.value) == f"{target}: checksum mismatch (file altered or corrupt)"

    info = run_tagger("info", "--model", str(model_copy))
    assert info.returncode == 1
    assert info.stdout == ""
    assert info.stderr.strip() == (
        f"tagger info: error: {target}: checksum mismatch (file altered or corrupt)")

    papers = write_jsonl(tmp_path / "papers.jsonl", [{"abstract": "Kalman filter forecasting"}])
    out = tmp_path / "out.jsonl"
    tag = run_tagger("tag", str(papers), "--model", str(model_copy), "-o", str(out))
    assert tag.returncode == 1
    assert f"{target}: checksum mismatch" in tag.stderr
    assert not out.exists()


def test_altered_model_card_is_refused(model_copy):
    with (model_copy / "MODEL_CARD.md").open("a", encoding="utf-8") as handle:
        handle.write("\nThis model is great.\n")
    with pytest.raises(ModelError, match=r"MODEL_CARD\.md: checksum mismatch"):
        load_model(model_copy)


def test_missing_file_is_refused(model_copy):
    (model_copy / MODEL_FILE).unlink()
    with pytest.raises(ModelError) as error:
        load_model(model_copy)
    assert str(error.value) == f"{model_copy / MODEL_FILE}: missing"


def test_unexpected_extra_file_is_refused(model_copy):
    (model_copy / "extra.joblib").write_bytes(b"anything")
    with pytest.raises(ModelError) as error:
        verify_model_dir(model_copy)
    assert str(error.value) == (
        f"{model_copy / 'extra.joblib'}: unexpected file, not listed in the manifest")


def test_pickle_is_never_executed_before_verification(model_copy, tmp_path):
    """A malicious model.joblib whose unpickling would create a file: refused, file absent."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (model_copy / MODEL_FILE).write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_model(model_copy)
    assert not marker.exists()


@pytest.mark.parametrize(("change", "message"), [
    (lambda m: m.update(format_version=99), "unknown format version 99"),
    (lambda m: m.pop("files"), "no checksums recorded"),
    (lambda m: m["files"].update({"../escape": "0" * 64}), "bad file name '../escape'"),
    (lambda m: m.update(name=["not", "a", "string"]), "'name' must be a string"),
    (lambda m: m.update(taxonomy="bees"), "'taxonomy' must be an object"),
])
def test_bad_manifests_are_refused(model_copy, change, message):
    rewrite_manifest(model_copy, change)
    with pytest.raises(ModelError) as error:
        load_model(model_copy)
    assert str(error.value).startswith(f"{model_copy / MANIFEST_FILE}: ")
    assert message in str(error.value)


def test_unreadable_manifest_and_missing_directory(model_copy, tmp_path):
    (model_copy / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"manifest\.json: unreadable manifest"):
        load_model(model_copy)
    with pytest.raises(ModelError, match="no such model directory"):
        load_model(tmp_path / "nowhere")


def test_model_of_another_scikit_learn_is_refused_naming_both_versions(model_copy):
    from importlib import metadata

    rewrite_manifest(model_copy, lambda m: m["library_versions"].update(
        {"scikit-learn": "0.24.2"}))
    with pytest.raises(ModelError) as error:
        load_model(model_copy)
    message = str(error.value)
    assert message.startswith(f"{model_copy / MODEL_FILE}: pickled by scikit-learn 0.24.2")
    assert f"scikit-learn {metadata.version('scikit-learn')} is installed" in message


def test_fifo_or_unreadable_model_files_are_refused_without_hanging(model_copy):
    manifest = model_copy / MANIFEST_FILE
    manifest.unlink()
    os.mkfifo(manifest)  # opening a FIFO for reading would block until a writer comes
    with pytest.raises(ModelError, match=r"manifest\.json: not a regular file"):
        load_model(model_copy)
    manifest.unlink()
    (model_copy / MODEL_FILE).unlink()
    (model_copy / MODEL_FILE).mkdir()
    with pytest.raises(ModelError):
        verify_model_dir(model_copy)


def test_each_model_file_is_read_once_per_load(model_copy, monkeypatch):
    import tagger.artifact as artifact

    reads: list[str] = []
    original = artifact.read_regular_file

    def counting(path):
        reads.append(Path(path).name)
        return original(path)

    monkeypatch.setattr(artifact, "read_regular_file", counting)
    load_model(model_copy)
    assert sorted(reads) == sorted([MANIFEST_FILE, MODEL_FILE, "MODEL_CARD.md"])


def test_edited_taxonomy_in_manifest_is_refused(model_copy):
    def rename_theme(manifest):
        manifest["taxonomy"]["themes"][0]["id"] = "bees"

    rewrite_manifest(model_copy, rename_theme)
    with pytest.raises(ModelError, match="taxonomy fingerprint does not match"):
        verify_model_dir(model_copy)  # what `tagger info` and `tagger publish` check
    with pytest.raises(ModelError, match="taxonomy fingerprint does not match"):
        load_model(model_copy)


def test_incompatible_taxonomy_is_refused(small_model):
    other = Taxonomy.from_dict({"name": "bees", "themes": [{"id": "bees"}]})
    with pytest.raises(ModelError, match="themes differ from 'bees'"):
        load_model(small_model, taxonomy=other)
    own = load_model(small_model).taxonomy
    assert load_model(small_model, taxonomy=own).taxonomy == own


def test_save_replaces_an_existing_model_and_leaves_no_work_dirs(small_model, tmp_path):
    tagger = load_model(small_model)
    out = tmp_path / "models" / "m"
    save_model(tagger, out, {"name": "first"})
    save_model(tagger, out, {"name": "second"})
    assert verify_model_dir(out)["name"] == "second"
    assert sorted(p.name for p in out.parent.iterdir()) == ["m"]


def test_stale_work_dirs_of_dead_processes_are_removed(small_model, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    out = tmp_path / "m"
    stale = [tmp_path / f".m.tmp-{dead_pid}-abc", tmp_path / f".m.old-{dead_pid}-def",
             tmp_path / ".m.tmp-legacy"]
    live = [tmp_path / f".m.tmp-{os.getppid()}-ghi", tmp_path / f".m.tmp-{os.getpid()}-jkl"]
    unrelated = tmp_path / ".other.tmp-1-x"
    for directory in [*stale, *live, unrelated]:
        directory.mkdir()
        (directory / MODEL_FILE).write_bytes(b"partial")
    save_model(load_model(small_model), out, {"name": "m"})
    for directory in stale:
        assert not directory.exists(), directory
    for directory in [*live, unrelated]:
        assert directory.exists(), directory
    assert remove_stale_work_dirs(out) == []


def test_killed_training_leaves_no_half_model(tmp_path):
    """SIGKILL ``tagger train`` while it writes its staging directory: the output path does not
    exist (or is a complete verified model); the next successful training cleans up."""
    data = write_jsonl(tmp_path / "big.jsonl", make_labelled_corpus(n=800, seed=3))
    out = tmp_path / "models" / "m"
    out.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "tagger", "train", "--data", str(data), "--out", str(out),
         "--cv", "0"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        # Wait for the staging directory (training finished, model being written), then kill.
        while process.poll() is None and not list(out.parent.glob(".m.tmp-*")):
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, "training ended before it could be killed"
    assert not out.exists() or verify_model_dir(out)
    if not out.exists():  # killed before the rename: the staging dir is left behind
        assert list(out.parent.glob(".m.tmp-*"))

    small = write_jsonl(tmp_path / "small.jsonl", make_labelled_corpus(n=40))
    assert tagger_main(["train", "--data", str(small), "--out", str(out), "--cv", "0"]) == 0
    assert verify_model_dir(out)["training"]["n_documents"] == 40
    assert sorted(p.name for p in out.parent.iterdir()) == ["m"]


def test_model_is_a_plain_pickle_that_joblib_also_reads(model_copy):
    import joblib

    manifest = read_manifest(model_copy)
    assert manifest["serializer"] == "pickle"
    data = (model_copy / MODEL_FILE).read_bytes()
    assert data[:2] == b"\x80\x05"  # protocol 5, uncompressed
    assert set(joblib.load(model_copy / MODEL_FILE)) == {"estimator"}


def test_a_model_written_by_joblib_dump_still_loads(model_copy):
    """Models saved before the "serializer" field (joblib.dump, compressed) load as before."""
    import hashlib

    import joblib

    before = load_model(model_copy)
    path = model_copy / MODEL_FILE
    joblib.dump({"estimator": before.estimator}, path, compress=3)
    assert path.read_bytes()[:1] == b"x"  # zlib: not a plain pickle any more

    def legacy(manifest):
        del manifest["serializer"]
        manifest["files"][MODEL_FILE] = hashlib.sha256(path.read_bytes()).hexdigest()

    rewrite_manifest(model_copy, legacy)
    after = load_model(model_copy)
    docs = [{"title": "", "abstract": "A state space model for time series forecasting."}]
    assert (after.estimator.predict_proba(docs) == before.estimator.predict_proba(docs)).all()


def test_fitted_vectorizers_load_on_first_use_and_round_trip(model_copy):
    """Scoring never unpickles the vectorizers (they are nested bytes until used); feature
    names, which need them, still work, and a re-pickled model is the same model."""
    features = load_model(model_copy).estimator.features_
    assert "word_vectorizer_" not in vars(features)
    names = features.get_feature_names_out()
    assert names[0].startswith("word:") and "word_vectorizer_" in vars(features)
    again = pickle.loads(pickle.dumps(features))
    assert (again.get_feature_names_out() == names).all()
    assert (again.word_idf_ == features.word_idf_).all()


def test_refitting_an_unpickled_model_pickles_the_new_vectorizers(model_copy):
    features = load_model(model_copy).estimator.features_
    docs = [{"title": "", "abstract": f"kalman filter number {i} with wavelet denoising"}
            for i in range(6)]
    features.fit(docs)
    again = pickle.loads(pickle.dumps(features))
    assert "wavelet" in again.word_vectorizer_.vocabulary_
    assert (again.get_feature_names_out() == features.get_feature_names_out()).all()
