"""The worker side of every engine: a per-process model cache and :func:`score_batch`, which
calls :meth:`Tagger.tag` (the one scoring function) and formats the results."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tagger.artifact import MANIFEST_FILE, load_model, verify_model_dir
from tagger.bulk.batching import Batch, input_bytes, to_documents
from tagger.bulk.formats import Formatter, ScoreRows
from tagger.tagging import Tagger


@dataclass(frozen=True)
class ScoreOptions:
    """What a worker needs besides the model: the flags of ``tagger tag`` and the format."""

    formatter: Formatter | ScoreRows
    explain: bool = False
    all_scores: bool = False
    compiled: bool = False  # score through the compiled kernel (see compiled_scoring)


def score_batch(tagger: Tagger, batch: Batch, options: ScoreOptions) -> tuple[int, str | list]:
    """Tag one batch; return the number of records and the output for them (text, or the
    stream's score rows)."""
    results = tagger.tag(to_documents(batch), explain_tags=options.explain,
                         all_scores=options.all_scores)
    return len(results), options.formatter.format(results)


# --- per-process model cache -------------------------------------------------------------

_models: dict[str, Tagger] = {}
_compile_failures: dict[str, str] = {}  # same keys: why the kernel cannot score that model
_lock = threading.Lock()


def model_from_dir(model_dir: str, compiled: bool = False) -> Tagger:
    """The model of ``model_dir``, loaded (and checksum-verified) once per process; with
    ``compiled``, scoring through the compiled kernel when it can (:func:`compiled_scoring`).
    """
    with _lock:
        if model_dir not in _models:
            _models[model_dir] = load_model(model_dir)
        tagger = _models[model_dir]
    if compiled:
        _compile_once(model_dir, tagger)
    return tagger


def _compile_once(key: str, tagger: Tagger) -> None:
    """:func:`compiled_scoring` for a cached model, tried once per process: a failure is
    remembered, so a worker handed many batches (Dask) does not retry it for each one."""
    if key not in _compile_failures:
        why_not = compiled_scoring(tagger)
        if why_not:
            _compile_failures[key] = why_not


COMPILED_CHOICES = ("auto", "on", "off")
# --compiled auto: the compiled kernel scores a paper in about a quarter of the batch path's
# CPU time but costs ~0.6 s to load (~10 s the first time on a machine, when numba compiles
# it). benchmarks/bulk_tag.py --records N --runs jobs2-on,jobs2-off,jobs1-on,jobs1-off:
# with two jobs it breaks even at about 15 MB of JSON Lines (15,000 abstracts), one job
# already gains at 7 MB, and from 22 MB on both are faster (1.2x and 1.9x; 2.3x and 3.1x
# at 106 MB).
COMPILED_MIN_INPUT_BYTES = 16 * 2**20


def wants_compiled(mode: str, inputs: list[str], eligible: bool = True) -> bool:
    """``--compiled MODE`` of ``tagger tag`` and ``tagger report``: ``on``/``off`` as said;
    ``auto`` when the run is ``eligible`` (the caller's own reasons, e.g. more than one batch)
    and its input files are large enough for the kernel's start-up to pay off."""
    if mode != "auto":
        return mode == "on"
    return eligible and input_bytes(inputs) >= COMPILED_MIN_INPUT_BYTES


def compiled_scoring(tagger: Tagger) -> str | None:
    """Switch ``tagger`` to the compiled kernel (once per process; a pool's parent does it
    before forking so the workers share the machine code). Returns None when in use, else
    why not: the batch path then scores, with the same tags."""
    with _lock:
        return tagger.estimator.compile_scoring()


def use_compiled(tagger: Tagger, say: Callable[[str], None]) -> bool:
    """:func:`compiled_scoring`, saying why not when it cannot (the batch path then scores);
    True when the kernel is in use."""
    why_not = compiled_scoring(tagger)
    if why_not:
        say(f"compiled scoring unavailable ({why_not}); scoring on the batch path")
    return why_not is None


@dataclass(frozen=True)
class ModelPayload:
    """A model directory's files as bytes, to ship to machines that cannot see the directory
    (a remote Dask cluster). ``digest`` identifies it in each worker's cache."""

    files: dict[str, bytes]
    digest: str

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> ModelPayload:
        model_dir = Path(model_dir)
        manifest = verify_model_dir(model_dir)
        names = [MANIFEST_FILE, *sorted(manifest["files"])]
        files = {name: (model_dir / name).read_bytes() for name in names}
        return cls(files, hashlib.sha256(files[MANIFEST_FILE]).hexdigest())

    def load(self, compiled: bool = False) -> Tagger:
        """Unpack into a temporary directory and load through :func:`load_model`, so the same
        checksum verification guards the unpickling; cached per process by digest."""
        with _lock:
            if self.digest not in _models:
                temp = Path(tempfile.mkdtemp(prefix="tagger-model-"))
                try:
                    for name, data in self.files.items():
                        (temp / name).write_bytes(data)
                    _models[self.digest] = load_model(temp)
                finally:
                    shutil.rmtree(temp, ignore_errors=True)
            tagger = _models[self.digest]
        if compiled:
            _compile_once(self.digest, tagger)
        return tagger


def score_with_files(files: dict[str, bytes], digest: str, batch: Batch, options: ScoreOptions
                     ) -> tuple[int, str]:
    """Dask task: score one batch with the shipped model files. The files travel as a plain
    dict of bytes, which a worker can receive before it has imported ``tagger``."""
    return score_batch(ModelPayload(files, digest).load(options.compiled), batch, options)
