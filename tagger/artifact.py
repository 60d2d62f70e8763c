"""Model artifacts: a directory with the fitted pipeline (joblib), ``manifest.json`` and
``MODEL_CARD.md``.

Joblib files are pickles, and unpickling executes code. So a model is only ever unpickled after
the manifest's SHA-256 of every file has been checked, from a directory the operator chose.
Writes are atomic: the model is built in a temporary sibling directory and renamed into place,
so a crash never leaves a half-written model under the final name.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.taxonomy import Taxonomy, TaxonomyError

if TYPE_CHECKING:  # scikit-learn and spaCy load only when a model is (un)pickled, so
    from tagger.tagging import Tagger  # `tagger info`/`publish` start fast

FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "MODEL_CARD.md"
# The default model ships inside the package, so a regular ``pip install`` can tag at once.
SHIPPED_MODEL = Path(__file__).resolve().parent / "models" / "default"
MODEL_ENV = "TAGGER_MODEL"
MODELS_ROOT_ENV = "TAGGER_MODELS_ROOT"


def models_root() -> Path:
    """Where published models live (``current`` and ``previous`` symlinks): ``$TAGGER_MODELS_ROOT``,
    else the ``models/`` folder of the source checkout the package runs from, else
    ``./models``."""
    if os.environ.get(MODELS_ROOT_ENV):
        return Path(os.environ[MODELS_ROOT_ENV])
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "setup.cfg").is_file() and (checkout / "models").is_dir():
        return checkout / "models"
    return Path("models")



class ModelError(Exception):
    """A model directory that cannot be used; the message names the offending file."""


def default_model_dir() -> Path:
    """``$TAGGER_MODEL`` if set, else ``current`` under :func:`models_root` (a published
    model), else the model shipped in the package."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    current = models_root() / "current"
    return current if current.exists() else SHIPPED_MODEL


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("tagger", "scikit-learn", "spacy", "spacy-lookups-data", "numpy", "scipy",
                    "joblib"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def save_model(tagger: Tagger, out_dir: str | Path, manifest: dict) -> Path:
    """Write ``tagger`` to ``out_dir`` atomically and return the directory.

    ``manifest`` holds the training facts (data, metrics, design); this function adds format
    version, taxonomy, thresholds, library versions, a model version and file checksums.
    """
    import joblib
    import numpy as np

    if Path(out_dir).is_symlink():  # e.g. models/current: published models are immutable
        raise ModelError(f"{out_dir}: is a symlink; train into a new directory and "
                         "`tagger publish` it")
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_work_prefix(out_dir, "tmp"), dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a model directory is for reading
        joblib.dump(
            {"pipeline": tagger.pipeline, "thresholds": np.asarray(tagger.thresholds)},
            staging / MODEL_FILE,
            compress=3,
        )
        model_hash = sha256_file(staging / MODEL_FILE)
        full = {
            "format_version": FORMAT_VERSION,
            "name": manifest.get("name", out_dir.name),
            "model_version": manifest.get("model_version")
            or f"{datetime.now(UTC):%Y.%m.%d}-{model_hash[:8]}",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "library_versions": library_versions(),
            "taxonomy": {**tagger.taxonomy.to_dict(),
                         "fingerprint": tagger.taxonomy.fingerprint()},
            "thresholds": {
                theme: round(float(t), 4)
                for theme, t in zip(tagger.taxonomy.ids, tagger.thresholds, strict=True)
            },
            **{k: v for k, v in manifest.items() if k not in ("name", "model_version")},
        }
        from tagger.training.model_card import render_model_card

        (staging / CARD_FILE).write_text(render_model_card(full), encoding="utf-8")
        full["files"] = {
            name: sha256_file(staging / name) for name in sorted((MODEL_FILE, CARD_FILE))
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    tagger.manifest = full
    remove_stale_work_dirs(out_dir)
    return out_dir


def _work_prefix(out_dir: Path, kind: str) -> str:
    """Name prefix of the hidden sibling directories a save works in: ``.NAME.tmp-PID-`` for
    staging, ``.NAME.old-PID-`` for a replaced model. The PID tells a later save whether the
    directory belongs to a process that is still running or was left behind by a killed one."""
    return f".{out_dir.name}.{kind}-{os.getpid()}-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_work_dirs(out_dir: str | Path) -> list[Path]:
    """Delete the staging/retired siblings of ``out_dir`` whose process is gone (a training
    killed by SIGKILL or a power cut cannot clean up after itself); return what was removed.
    Directories of live processes, including this one, are left alone."""
    out_dir = Path(out_dir).resolve()
    removed = []
    for kind in ("tmp", "old"):
        prefix = f".{out_dir.name}.{kind}-"
        for entry in out_dir.parent.glob(f"{glob.escape(prefix)}*"):
            pid_text = entry.name[len(prefix):].split("-", 1)[0]
            pid = int(pid_text) if pid_text.isdigit() else None
            if pid is not None and (pid == os.getpid() or _process_alive(pid)):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Rename the finished ``staging`` directory to ``out_dir``, replacing an older model."""
    if out_dir.is_symlink() or out_dir.is_file():
        raise ModelError(f"{out_dir}: exists and is not a model directory")
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=_work_prefix(out_dir, "old"), dir=out_dir.parent))
    os.rename(out_dir, retired / "model")
    os.rename(staging, out_dir)
    shutil.rmtree(retired, ignore_errors=True)


def read_manifest(model_dir: str | Path) -> dict:
    """The manifest of a model directory, validated but without checking file contents."""
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST_FILE
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: no such model directory")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: unreadable manifest ({error})") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"{path}: not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{path}: unknown format version {manifest.get('format_version')!r} "
            f"(this tagger reads version {FORMAT_VERSION})"
        )
    if not isinstance(manifest.get("files"), dict) or MODEL_FILE not in manifest["files"]:
        raise ModelError(f"{path}: no checksums recorded for the model files")
    return manifest


def verify_model_dir(model_dir: str | Path) -> dict:
    """Check every file against the manifest's SHA-256; return the manifest or raise
    :class:`ModelError` naming the first missing, altered or unexpected file.

    A model directory holds exactly ``manifest.json`` and the files it lists. An extra file is
    refused too: nothing loads it today, but a directory that differs from what training wrote
    has been tampered with or mixed up, and an operator should look before it is served.
    """
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    for name, expected in sorted(manifest["files"].items()):
        if Path(name).name != name or name in (".", "..", MANIFEST_FILE):
            raise ModelError(f"{model_dir / MANIFEST_FILE}: bad file name {name!r}")
        if not isinstance(expected, str):
            raise ModelError(f"{model_dir / MANIFEST_FILE}: bad checksum for {name!r}")
        path = model_dir / name
        if not path.is_file():
            raise ModelError(f"{path}: missing")
        if sha256_file(path) != expected:
            raise ModelError(f"{path}: checksum mismatch (file altered or corrupt)")
    allowed = {MANIFEST_FILE, *manifest["files"]}
    extra = sorted(entry.name for entry in model_dir.iterdir() if entry.name not in allowed)
    if extra:
        raise ModelError(f"{model_dir / extra[0]}: unexpected file, not listed in the manifest")
    manifest_taxonomy(manifest, model_dir)
    return manifest


def manifest_taxonomy(manifest: dict, model_dir: str | Path) -> Taxonomy:
    """The taxonomy a model was trained with, checked against its recorded fingerprint."""
    source = Path(model_dir) / MANIFEST_FILE
    try:
        taxonomy = Taxonomy.from_dict(manifest.get("taxonomy", {}), source=str(source))
    except TaxonomyError as error:
        raise ModelError(str(error)) from None
    recorded = manifest["taxonomy"].get("fingerprint")
    if recorded is not None and recorded != taxonomy.fingerprint():
        raise ModelError(f"{source}: taxonomy fingerprint does not match its themes "
                         "(manifest edited?)")
    return taxonomy


def load_model(model_dir: str | Path | None = None, taxonomy: Taxonomy | None = None) -> Tagger:
    """Load and verify a model directory (default: :func:`default_model_dir`).

    ``taxonomy``, when given, must have the same theme ids as the model's; otherwise the
    model's own recorded taxonomy is used.
    """
    import joblib
    import numpy as np

    from tagger.tagging import Tagger

    # Resolve once: a ``models/current`` symlink swapped by ``tagger publish`` mid-load must not
    # mix one model's manifest with another's weights.
    model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
    model_dir = model_dir.resolve() if model_dir.exists() else model_dir
    manifest = verify_model_dir(model_dir)
    own_taxonomy = manifest_taxonomy(manifest, model_dir)
    if taxonomy is not None and taxonomy.fingerprint() != own_taxonomy.fingerprint():
        raise ModelError(
            f"{model_dir / MANIFEST_FILE}: the model was trained with taxonomy "
            f"{own_taxonomy.name!r} whose themes differ from {taxonomy.name!r}"
        )
    # Unpickle the very bytes that were hashed, so the file cannot change in between.
    model_path = model_dir / MODEL_FILE
    try:
        data = model_path.read_bytes()
    except OSError as error:
        raise ModelError(f"{model_path}: cannot read ({error.strerror})") from None
    if hashlib.sha256(data).hexdigest() != manifest["files"][MODEL_FILE]:
        raise ModelError(f"{model_path}: checksum mismatch (file altered or corrupt)")
    try:
        payload = joblib.load(io.BytesIO(data))
        pipeline, thresholds = payload["pipeline"], np.asarray(payload["thresholds"])
    except Exception as error:  # noqa: BLE001 - any unpickling failure means an unusable file
        raise ModelError(f"{model_dir / MODEL_FILE}: cannot load ({error})") from None
    if thresholds.shape != (len(own_taxonomy),):
        raise ModelError(f"{model_dir / MODEL_FILE}: thresholds do not match the taxonomy")
    return Tagger(own_taxonomy, pipeline, thresholds, manifest)
