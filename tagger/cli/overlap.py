"""Is an evaluation file the model's own training data? ``tagger evaluate`` asks before it
reports a score: a model scored on what it was fitted to reports memorisation (micro-F1 0.99)
as quality.

Two checks, both against what the manifest records under ``training_data`` (file name and
SHA-256 of every training file, see ``tagger train``):

* the same file: an evaluation file whose SHA-256 is a training file's;
* shared ids: a training file found next to the evaluation file (same name, same SHA-256, so
  it is provably the one trained on) whose ids appear in the evaluation records.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tagger.corpus import STDIN, CorpusError, Document, read_documents


def _sha256(path: Path) -> str | None:
    from tagger.artifact import sha256_file

    try:
        return sha256_file(path)
    except OSError:
        return None


def training_overlap(manifest: dict, eval_paths: Iterable[str],
                     documents: list[Document]) -> dict:
    """``{"same_files": [{"file", "training_file"}], "shared_ids": N, "of": M,
    "training_files_found": [...]}``; empty lists and 0 when no overlap is found."""
    entries = [e for e in manifest.get("training_data") or []
               if isinstance(e, dict) and isinstance(e.get("sha256"), str)]
    by_sha = {e["sha256"]: e for e in entries}
    result: dict = {"same_files": [], "shared_ids": 0, "of": len(documents),
                    "training_files_found": []}
    folders: list[Path] = []
    for raw in eval_paths:
        if raw == STDIN:
            continue
        path = Path(raw)
        digest = _sha256(path)
        if digest in by_sha:
            result["same_files"].append({"file": raw, "training_file": by_sha[digest]["file"]})
        if path.parent not in folders:
            folders.append(path.parent)
    training_ids: set[str] = set()
    for entry in entries:
        if entry.get("unlabelled") or not isinstance(entry.get("file"), str):
            continue
        for folder in folders:
            candidate = folder / Path(entry["file"]).name
            if candidate.is_file() and _sha256(candidate) == entry["sha256"]:
                try:
                    training_ids.update(
                        doc.id for doc in read_documents(candidate, on_error=lambda _e: None))
                except CorpusError:
                    continue
                result["training_files_found"].append(str(candidate))
                break
    if training_ids:
        result["shared_ids"] = sum(doc.id in training_ids for doc in documents)
    return result


def overlap_warnings(overlap: dict) -> list[str]:
    """One line per finding, for stderr."""
    lines = [f"warning: {item['file']} is the model's training file {item['training_file']} "
             "(same SHA-256): these scores measure memorisation, not quality"
             for item in overlap["same_files"]]
    if overlap["shared_ids"] and not overlap["same_files"]:
        lines.append(f"warning: {overlap['shared_ids']} of {overlap['of']} evaluation records "
                     "have ids of the model's training records "
                     f"({', '.join(overlap['training_files_found'])}): scores are inflated")
    return lines
