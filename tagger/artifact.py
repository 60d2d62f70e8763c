"""Model artifacts: a directory with the fitted estimator (``model.joblib``), an optional learnt
representation (``representation.npz``, plain arrays), ``manifest.json`` and ``MODEL_CARD.md``.

``model.joblib`` is a standard pickle (protocol 5; ``joblib.load`` reads it too), written with
:mod:`pickle` rather than ``joblib.dump``: joblib's loader unpickles in pure Python, 0.30 s of
CPU for the shipped model against 0.03 s for :func:`pickle.loads` of the same object, and that
difference is paid by every ``tagger tag`` run and every server start. Models written by
``joblib.dump`` before (manifest without ``"serializer": "pickle"``) still load with joblib.

Pickles execute code when loaded. So a model is only ever unpickled after
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
import pickle
import platform
import shutil
import stat
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.taxonomy import Taxonomy, TaxonomyError

if TYPE_CHECKING:  # scikit-learn and spaCy load only when a model is (un)pickled, so
    from tagger.tagging import Tagger  # `tagger info`/`publish` start fast

FORMAT_VERSION = 2
MODEL_FILE = "model.joblib"
SERIALIZER = "pickle"  # the manifest's "serializer": how MODEL_FILE was written
REPRESENTATION_FILE = "representation.npz"
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
    version, taxonomy, thresholds and calibration, library versions, a model version and file
    checksums. A learnt representation is written as plain arrays beside the pickle.
    """
    if Path(out_dir).is_symlink():  # e.g. models/current: published models are immutable
        raise ModelError(f"{out_dir}: is a symlink; train into a new directory and "
                         "`tagger publish` it")
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_work_prefix(out_dir, "tmp"), dir=out_dir.parent))
    estimator = tagger.estimator
    representation = _representation_of(estimator)
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a model directory is for reading
        names = [MODEL_FILE, CARD_FILE]
        if representation is not None:
            representation.save(staging / REPRESENTATION_FILE)
            names.append(REPRESENTATION_FILE)
        _set_representation(estimator, None)  # stored once, as arrays, not in the pickle
        try:
            with open(staging / MODEL_FILE, "wb") as handle:
                pickle.dump({"estimator": estimator}, handle, protocol=5)
        finally:
            _set_representation(estimator, representation)
        model_hash = sha256_file(staging / MODEL_FILE)
        classifier = estimator.classifier_
        full = {
            "format_version": FORMAT_VERSION,
            "name": manifest.get("name", out_dir.name),
            "model_version": manifest.get("model_version")
            or f"{datetime.now(UTC):%Y.%m.%d}-{model_hash[:8]}",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "serializer": SERIALIZER,
            "library_versions": library_versions(),
            "taxonomy": {**tagger.taxonomy.to_dict(),
                         "fingerprint": tagger.taxonomy.fingerprint()},
            "thresholds": {
                theme: round(float(t), 4)
                for theme, t in zip(tagger.taxonomy.ids, classifier.thresholds_, strict=True)
            },
            "calibration": {
                "method": "per-theme Platt scaling with the intercept pinned at the theme's "
                          "F-beta-optimal threshold, fitted on out-of-fold scores",
                "decision_score": 0.5,
                "cv_folds": int(classifier.cv),
                "beta": float(classifier.beta),
                "slopes": {theme: round(float(a), 4) for theme, a in
                           zip(tagger.taxonomy.ids, classifier.slopes_, strict=True)},
            },
            **{k: v for k, v in manifest.items() if k not in ("name", "model_version")},
        }
        if representation is not None and hasattr(representation, "describe"):
            full["representation"] = representation.describe()
        from tagger.model_card import render_model_card

        (staging / CARD_FILE).write_text(render_model_card(full), encoding="utf-8")
        full["files"] = {name: sha256_file(staging / name) for name in sorted(names)}
        (staging / MANIFEST_FILE).write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    tagger.manifest = full
    remove_stale_work_dirs(out_dir)
    return out_dir


def _representation_of(estimator) -> object | None:
    features = getattr(estimator, "features_", None)
    return getattr(features, "representation", None)


def _set_representation(estimator, representation) -> None:
    """Attach (or detach) the learnt representation in the fitted and template features."""
    for features in (getattr(estimator, "features_", None), estimator.features):
        if features is not None:
            features.representation = representation


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


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, refusing anything but a regular file *before* reading: a FIFO or
    device named like a model file would otherwise block the reader (and a server's reload
    lock) forever. Every failure is a :class:`ModelError` naming the path."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None
    except OSError as error:
        raise ModelError(f"{path}: cannot open ({error.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ModelError(f"{path}: not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError as error:
        raise ModelError(f"{path}: cannot read ({error.strerror})") from None
    finally:
        os.close(fd)


def _check_manifest(manifest: object, path: Path) -> dict:
    """Field types a loader relies on, so a hand-edited manifest fails with a message."""
    if not isinstance(manifest, dict):
        raise ModelError(f"{path}: not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{path}: unknown format version {manifest.get('format_version')!r} "
            f"(this tagger reads version {FORMAT_VERSION}; retrain the model with this tagger)"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or MODEL_FILE not in files:
        raise ModelError(f"{path}: no checksums recorded for the model files")
    for key in ("name", "model_version"):
        if not isinstance(manifest.get(key), str):
            raise ModelError(f"{path}: {key!r} must be a string")
    for key in ("taxonomy", "library_versions"):
        if not isinstance(manifest.get(key), dict):
            raise ModelError(f"{path}: {key!r} must be an object")
    return manifest


def read_manifest(model_dir: str | Path) -> dict:
    """The manifest of a model directory, validated but without checking file contents."""
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST_FILE
    try:
        is_dir = model_dir.is_dir()
    except OSError as error:
        raise ModelError(f"{model_dir}: cannot open ({error.strerror})") from None
    if not is_dir:
        raise ModelError(f"{model_dir}: no such model directory")
    try:
        manifest = json.loads(read_regular_file(path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: unreadable manifest ({error})") from None
    return _check_manifest(manifest, path)


def _read_verified(model_dir: Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and the bytes of every file it lists, each read once and checked against
    its SHA-256; the very bytes that were hashed are the ones later unpickled."""
    manifest = read_manifest(model_dir)
    contents: dict[str, bytes] = {}
    for name, expected in sorted(manifest["files"].items()):
        if Path(name).name != name or name in (".", "..", MANIFEST_FILE):
            raise ModelError(f"{model_dir / MANIFEST_FILE}: bad file name {name!r}")
        if not isinstance(expected, str):
            raise ModelError(f"{model_dir / MANIFEST_FILE}: bad checksum for {name!r}")
        data = read_regular_file(model_dir / name)
        if hashlib.sha256(data).hexdigest() != expected:
            raise ModelError(f"{model_dir / name}: checksum mismatch (file altered or corrupt)")
        contents[name] = data
    allowed = {MANIFEST_FILE, *manifest["files"]}
    try:
        extra = sorted(entry.name for entry in model_dir.iterdir() if entry.name not in allowed)
    except OSError as error:
        raise ModelError(f"{model_dir}: cannot list ({error.strerror})") from None
    if extra:
        raise ModelError(f"{model_dir / extra[0]}: unexpected file, not listed in the manifest")
    manifest_taxonomy(manifest, model_dir)
    return manifest, contents


def verify_model_dir(model_dir: str | Path) -> dict:
    """Check every file against the manifest's SHA-256; return the manifest or raise
    :class:`ModelError` naming the first missing, altered or unexpected file.

    A model directory holds exactly ``manifest.json`` and the files it lists. An extra file is
    refused too: nothing loads it today, but a directory that differs from what training wrote
    has been tampered with or mixed up, and an operator should look before it is served.
    """
    return _read_verified(Path(model_dir))[0]


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


def check_library_versions(manifest: dict, source: Path) -> None:
    """Refuse a model pickled by a scikit-learn of another minor release: its estimators may
    unpickle into objects that silently compute something else."""
    recorded = str(manifest.get("library_versions", {}).get("scikit-learn", "unknown"))
    try:
        installed = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        installed = "unknown"
    if recorded.split(".")[:2] != installed.split(".")[:2]:
        raise ModelError(
            f"{source}: pickled by scikit-learn {recorded}, but scikit-learn {installed} is "
            f"installed; retrain the model (`make model`) or install scikit-learn=={recorded}")


def _unpickle(data: bytes, manifest: dict) -> dict:
    """The pickled payload of ``model.joblib``; call only on bytes that matched the manifest."""
    if manifest.get("serializer") == SERIALIZER:
        return pickle.loads(data)  # noqa: S301 - verified bytes from an operator's directory
    import joblib  # models written by joblib.dump before the "serializer" field

    return joblib.load(io.BytesIO(data))


def load_model(model_dir: str | Path | None = None, taxonomy: Taxonomy | None = None) -> Tagger:
    """Load and verify a model directory (default: :func:`default_model_dir`).

    ``taxonomy``, when given, must have the same theme ids as the model's; otherwise the
    model's own recorded taxonomy is used.
    """
    from tagger.tagging import Tagger

    # Resolve once: a ``models/current`` symlink swapped by ``tagger publish`` mid-load must not
    # mix one model's manifest with another's weights.
    model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
    try:
        model_dir = model_dir.resolve() if model_dir.exists() else model_dir
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop
        raise ModelError(f"{model_dir}: cannot resolve ({error})") from None
    manifest, contents = _read_verified(model_dir)
    own_taxonomy = manifest_taxonomy(manifest, model_dir)
    if taxonomy is not None and taxonomy.fingerprint() != own_taxonomy.fingerprint():
        raise ModelError(
            f"{model_dir / MANIFEST_FILE}: the model was trained with taxonomy "
            f"{own_taxonomy.name!r} whose themes differ from {taxonomy.name!r}"
        )
    check_library_versions(manifest, model_dir / MODEL_FILE)
    try:
        estimator = _unpickle(contents[MODEL_FILE], manifest)["estimator"]
    except Exception as error:  # noqa: BLE001 - any unpickling failure means an unusable file
        raise ModelError(f"{model_dir / MODEL_FILE}: cannot load ({error})") from None
    if REPRESENTATION_FILE in contents:
        from tagger.representations import FeedRepresentation

        try:
            representation = FeedRepresentation.load(io.BytesIO(contents[REPRESENTATION_FILE]))
        except Exception as error:  # noqa: BLE001 - a corrupt array file is an unusable model
            raise ModelError(f"{model_dir / REPRESENTATION_FILE}: cannot load ({error})") from None
        _set_representation(estimator, representation)
    if list(getattr(estimator, "classes_", [])) != own_taxonomy.ids:
        raise ModelError(f"{model_dir / MODEL_FILE}: the model's themes do not match its "
                         "taxonomy")
    return Tagger(own_taxonomy, estimator, manifest)
