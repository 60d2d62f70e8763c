"""Active-learning strategies: rank candidate papers by how much a review would teach the
model, then pick a batch that is not a set of near-duplicates.

Everything here works on arrays (calibrated scores, TF-IDF rows), so the same code ranks the
live queue and the simulation's pool. Scores are calibrated: every theme's decision point is
0.5, so "near the boundary" means the same for every theme.

* ``uncertainty``: per paper, the largest over themes of ``rarity[t] * (1 - 2 |s - 0.5|)``.
* ``disagreement``: the model's views of one paper (title + abstract, abstract only, title
  only) are a committee; the informativeness is how far apart their scores are across the
  0.5 line, rarity-weighted (co-testing).
* ``diverse``: uncertainty, then a maximal-marginal-relevance pick that trades
  informativeness for distance to the papers already in the batch.
* ``random``: the baseline of the simulation.

Every strategy ends with the same diversity step (no paper in a batch more than
``max_similarity`` cosine-similar to one already picked while others remain) and breaks ties
with a seeded permutation, so a seed fixes the order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STRATEGIES = ("uncertainty", "disagreement", "diverse", "random")
DEFAULT_STRATEGY = "uncertainty"
DECISION = 0.5
MAX_SIMILARITY = 0.8
DIVERSE_LAMBDA = 0.6


def rarity_weights(positives: Sequence[float] | np.ndarray | None, n_themes: int) -> np.ndarray:
    """Rare themes weigh more: ``(1 + positives)^-1/2``, scaled so the rarest weighs 1."""
    if positives is None:
        return np.ones(n_themes)
    raw = (1.0 + np.asarray(positives, dtype=float)) ** -0.5
    return raw / raw.max()


def boundary_closeness(scores: np.ndarray) -> np.ndarray:
    """1 at the decision point, 0 at a score of 0 or 1."""
    return 1.0 - 2.0 * np.abs(np.asarray(scores, dtype=float) - DECISION)


def uncertainty(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (boundary_closeness(scores) * weights).max(axis=1)


def disagreement(views: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """``views``: score matrices of the same papers from different views. Per theme, the
    spread of the views' scores, counted fully when they fall on both sides of 0.5."""
    stack = np.stack(views)  # (views, n, themes)
    spread = stack.max(axis=0) - stack.min(axis=0)
    split = (stack >= DECISION).any(axis=0) & (stack < DECISION).any(axis=0)
    closeness = boundary_closeness(stack.mean(axis=0))
    value = np.where(split, 0.5 + 0.5 * spread, 0.5 * closeness * spread)
    return (value * weights).max(axis=1)


def _cosine(vectors, index: int, others) -> np.ndarray:
    """Cosine similarities of row ``index`` to every row (rows are L2-normalised)."""
    return np.asarray((others @ vectors[index].T).todense()).ravel() if hasattr(
        others, "todense") else others @ vectors[index]


def select_batch(informativeness: np.ndarray, vectors, n: int, seed: int = 0,
                 strategy: str = DEFAULT_STRATEGY,
                 max_similarity: float = MAX_SIMILARITY) -> list[int]:
    """Pick up to ``n`` distinct row indices, best first. ``vectors``: L2-normalised rows
    (dense or sparse) for the diversity step, or None to skip it."""
    count = len(informativeness)
    n = min(n, count)
    rng = np.random.default_rng(seed)
    tiebreak = rng.permutation(count)
    if strategy == "random":
        return [int(i) for i in tiebreak[:n]]
    value = np.asarray(informativeness, dtype=float)
    order = [int(i) for i in np.lexsort((tiebreak, -value))]  # best first, seeded ties
    if vectors is None or n == 0:
        return order[:n]
    chosen: list[int] = []
    max_sim = np.zeros(count)
    if strategy == "diverse":
        remaining = np.ones(count, dtype=bool)
        span = value.max() - value.min() or 1.0
        norm = (value - value.min()) / span
        for _ in range(n):
            mmr = DIVERSE_LAMBDA * norm - (1 - DIVERSE_LAMBDA) * max_sim
            mmr = np.where(remaining, mmr, -np.inf)
            best = max(np.flatnonzero(mmr == mmr.max()), key=lambda i: -tiebreak[i])
            chosen.append(int(best))
            remaining[best] = False
            max_sim = np.maximum(max_sim, _cosine(vectors, best, vectors))
        return chosen
    skipped: list[int] = []
    for i in order:
        if len(chosen) == n:
            break
        if max_sim[i] > max_similarity:
            skipped.append(i)  # a near-duplicate of a chosen paper: only if nothing else
            continue
        chosen.append(i)
        max_sim = np.maximum(max_sim, _cosine(vectors, i, vectors))
    return chosen + skipped[: n - len(chosen)]


def text_vectors(titles: Sequence[str], abstracts: Sequence[str]):
    """L2-normalised TF-IDF rows of title + abstract for the diversity step."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [f"{t} {a}" for t, a in zip(titles, abstracts, strict=True)]
    if not texts:
        return None
    try:
        return TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts)
    except ValueError:  # only stop words: nothing to compare
        return None
