"""Shared fixtures: paths to ../shared (skipping cleanly when absent), a small generated
labelled corpus, and a real model trained on it once per test session."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TAGGER_SHARED", REPO.parent / "shared"))
SHIPPED_MODEL = REPO / "tagger" / "models" / "default"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (or ``$TAGGER_SHARED``); tests that need it skip when it is absent."""
    if not (SHARED / "corpus" / "labels" / "seed.jsonl").is_file():
        pytest.skip(f"shared data not found at {SHARED}")
    return SHARED


# Generated text only: no abstract from ../shared/corpus goes into the repo.
THEME_WORDS = {
    "time-series": ["forecasting", "time series", "temporal", "seasonal", "horizon", "sensor"],
    "state-space-models": ["state space model", "kalman filter", "mamba", "linear dynamical",
                           "latent state", "selective scan"],
    "automl": ["neural architecture search", "hyperparameter optimization", "automl",
               "search space", "configuration", "pipeline search"],
    "causal-discovery": ["causal discovery", "causal graph", "structure learning", "dag",
                         "conditional independence", "notears"],
}
FILLER = ["we", "propose", "a", "novel", "method", "that", "improves", "results", "on",
           "benchmark", "data", "and", "show", "experiments", "robust", "efficient", "study"]
OFF_TOPIC = ["galaxy", "spectra", "telescope", "lattice", "theorem", "manifold", "query",
              "database", "index", "protein", "enzyme", "soil", "market", "price"]


def make_labelled_corpus(n: int = 160, seed: int = 7) -> list[dict]:
    """Synthetic labelled abstracts over four themes plus off-topic ones (no tags)."""
    rng = random.Random(seed)
    themes = list(THEME_WORDS)
    records = []
    for i in range(n):
        k = i % (len(themes) + 1)
        tags = [] if k == len(themes) else [themes[k]]
        if tags and rng.random() < 0.2:
            tags.append(rng.choice([t for t in themes if t != tags[0]]))
        vocabulary = [w for t in tags for w in THEME_WORDS[t]] or OFF_TOPIC
        words = [rng.choice(vocabulary if rng.random() < 0.3 else FILLER) for _ in range(60)]
        records.append({
            "id": f"gen-{i:04d}",
            "title": " ".join(rng.choice(vocabulary) for _ in range(4)).capitalize(),
            "abstract": " ".join(words).capitalize() + ".",
            "tags": tags,
        })
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def labelled_corpus(tmp_path_factory) -> Path:
    """A generated labelled JSONL file (160 records, 4 themes + off-topic)."""
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "labelled.jsonl",
                       make_labelled_corpus())


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, labelled_corpus) -> Path:
    """A real model directory trained on :func:`labelled_corpus` with the packaged taxonomy."""
    from tagger.artifact import save_model
    from tagger.corpus import read_documents
    from tagger.taxonomy import load_taxonomy
    from tagger.training.fit import train_tagger

    documents = list(read_documents(labelled_corpus, labelled=True))
    tagger, facts = train_tagger(documents, load_taxonomy(), folds=3, seed=0, n_jobs=1)
    out = tmp_path_factory.mktemp("models") / "small"
    save_model(tagger, out, {"name": "small", "training_data": [], **facts})
    return out
