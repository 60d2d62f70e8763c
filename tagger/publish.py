"""Publishing models: ``models/current`` is a symlink to the model in service, switched
atomically, with ``models/previous`` remembering what it pointed to before.

Why symlinks: a server (or ``tagger tag``) resolves ``models/current`` once per load, and
``rename(2)`` of a new symlink over the old one is atomic, so every reader sees either the old
model or the new one, never a mix or a missing path. Models themselves are never copied or
modified, so rolling back is as cheap and as safe as publishing.
"""

from __future__ import annotations

import errno
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from tagger.artifact import ModelError, models_root, verify_model_dir

CURRENT = "current"
PREVIOUS = "previous"


@dataclass(frozen=True)
class Switch:
    """The outcome of a publish or rollback: what ``current`` points to now and before."""

    current: Path
    previous: Path | None
    manifest: dict


def _resolve(path: Path, strict: bool = True) -> Path:
    """``path.resolve()`` with a one-line :class:`ModelError` for a symlink loop or (strict) a
    dangling link (Python 3.11 raises RuntimeError for loops, later versions OSError)."""
    try:
        return path.resolve(strict=strict)
    except RuntimeError:
        raise ModelError(f"{path}: symlink loop (too many levels of symbolic links)") from None
    except FileNotFoundError:
        raise ModelError(f"{path}: no such model directory") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ModelError(f"{path}: symlink loop (too many levels of symbolic links)"
                             ) from None
        raise ModelError(f"{path}: {error.strerror or error}") from None


def _target(link: Path) -> Path | None:
    """Where a pointer symlink leads (absolute), or None when there is none."""
    if not link.is_symlink():
        if link.exists():
            raise ModelError(f"{link}: exists and is not a symlink; refusing to replace it")
        return None
    return _resolve(link.parent / os.readlink(link), strict=False)  # the old model may be gone


def _point(link: Path, target: Path) -> None:
    """Make ``link`` a symlink to ``target`` atomically (temp symlink + rename over it).

    Targets inside the models root are stored relative so the repository can move."""
    root = link.parent.resolve()
    stored = os.path.relpath(target, root) if target.is_relative_to(root) else str(target)
    temp = link.parent / f".{link.name}.{os.getpid()}-{secrets.token_hex(4)}.new"
    os.symlink(stored, temp)  # fails rather than overwrite if the name is somehow taken
    try:
        os.replace(temp, link)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def publish(model_dir: str | Path, root_dir: str | Path | None = None) -> Switch:
    """Verify ``model_dir`` and make it ``models_root/current``; the old target becomes
    ``models_root/previous`` (``root_dir`` defaults to :func:`models_root`).
    Raises :class:`ModelError` (nothing changed) if it fails to verify.
    """
    target = _resolve(Path(model_dir))
    if not target.is_dir():
        raise ModelError(f"{model_dir}: not a directory")
    manifest = verify_model_dir(target)
    root = Path(root_dir) if root_dir is not None else models_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelError(f"{root}: cannot create the models root: {error.strerror}") from None
    current, previous = root / CURRENT, root / PREVIOUS
    old = _target(current)
    _target(previous)  # refuse early if `previous` is something other than our symlink
    if old == target:
        return Switch(target, _target(previous), manifest)
    if old is not None:
        _point(previous, old)  # first, so a crash in between still allows a rollback
    _point(current, target)
    return Switch(target, old, manifest)


def rollback(root_dir: str | Path | None = None) -> Switch:
    """Point ``current`` back at ``previous`` (which must still verify) and ``previous`` at
    what was current, so a second rollback undoes the first."""
    root = Path(root_dir) if root_dir is not None else models_root()
    current, previous = root / CURRENT, root / PREVIOUS
    back = _target(previous)
    if back is None:
        raise ModelError(f"{previous}: no previous model to roll back to")
    manifest = verify_model_dir(back)
    old = _target(current)
    _point(current, back)
    if old is not None:
        _point(previous, old)
    return Switch(back, old, manifest)
