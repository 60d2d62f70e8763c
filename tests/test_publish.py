"""``tagger publish`` / ``tagger rollback``: the ``current`` pointer only ever moves to a model
that verifies, atomically, and the previous model stays one command away."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tagger.artifact import MODEL_FILE, ModelError, load_model, save_model
from tagger.publish import publish, rollback
from tests.conftest import REPO


def run_tagger(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tagger", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300)


@pytest.fixture
def two_models(small_model, tmp_path) -> tuple[Path, Path, Path]:
    """A models root holding two verified models, ``a`` and ``b``."""
    root = tmp_path / "models"
    tagger = load_model(small_model)
    a = save_model(tagger, root / "a", {"name": "a"})
    b = save_model(tagger, root / "b", {"name": "b"})
    return root, a, b


def pointer(root: Path, name: str) -> Path | None:
    link = root / name
    return (root / os.readlink(link)).resolve() if link.is_symlink() else None


def test_publish_and_rollback_in_the_library(two_models):
    root, a, b = two_models
    first = publish(a, root)
    assert (first.current, first.previous) == (a, None)
    assert pointer(root, "current") == a and pointer(root, "previous") is None
    assert os.readlink(root / "current") == "a"  # relative: the repository can move

    second = publish(b, root)
    assert (second.current, second.previous) == (b, a)
    assert pointer(root, "current") == b and pointer(root, "previous") == a
    assert load_model(root / "current").name == "b"

    back = rollback(root)
    assert (back.current, back.previous, back.manifest["name"]) == (a, b, "a")
    assert pointer(root, "current") == a and pointer(root, "previous") == b
    rollback(root)  # a second rollback undoes the first
    assert pointer(root, "current") == b and pointer(root, "previous") == a

    again = publish(b, root)  # publishing what is current changes nothing
    assert (again.current, again.previous) == (b, a)
    assert sorted(p.name for p in root.iterdir()) == ["a", "b", "current", "previous"]


def test_a_model_that_fails_verification_is_never_published(two_models):
    root, a, b = two_models
    publish(a, root)
    data = bytearray((b / MODEL_FILE).read_bytes())
    data[100] ^= 0xFF
    (b / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"b/model\.joblib: checksum mismatch"):
        publish(b, root)
    assert pointer(root, "current") == a and pointer(root, "previous") is None


def test_rollback_refuses_without_a_previous_or_a_broken_one(two_models):
    root, a, b = two_models
    with pytest.raises(ModelError, match="no previous model"):
        rollback(root)
    publish(a, root)
    publish(b, root)
    shutil.rmtree(a)
    with pytest.raises(ModelError, match="no such model directory"):
        rollback(root)
    assert pointer(root, "current") == b


def test_a_real_directory_named_current_is_not_replaced(two_models):
    root, a, _b = two_models
    (root / "current").mkdir()
    with pytest.raises(ModelError, match="is not a symlink"):
        publish(a, root)
    assert (root / "current").is_dir() and not (root / "current").is_symlink()


def test_publish_and_rollback_cli(two_models, tmp_path):
    root, a, b = two_models
    publish(a, root)
    published = run_tagger("publish", str(b), "--models-root", str(root))
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith("published b ")
    assert f"previous   {a}" in published.stdout
    assert pointer(root, "current") == b and pointer(root, "previous") == a

    rolled = run_tagger("rollback", "--models-root", str(root))
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.startswith("rolled back to a ")
    assert pointer(root, "current") == a and pointer(root, "previous") == b

    missing = run_tagger("publish", str(tmp_path / "nowhere"), "--models-root", str(root))
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"tagger publish: error: {tmp_path / 'nowhere'}: no such model directory")
    assert pointer(root, "current") == a
