"""Feed representations side by side, for design experiments (``stream_experiments``
designs whose representation is a tuple of ``(name, weight)``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tagger.features import scaled_representation
from tagger.representations import FeedRepresentation


class StackedRepresentation:
    """Several feed representations side by side, each scaled to length ``weights[k]``
    (when it is a direction) before they are concatenated, so one block's dimensions cannot
    swamp another's. The estimator sees one block (``normalise`` is False: each part already
    has its scale). For experiments only: a model artifact stores one
    :class:`~tagger.representations.FeedRepresentation`, so a stack is never saved."""

    def __init__(self, parts: Sequence[FeedRepresentation], weights: Sequence[float]):
        if not parts or len(parts) != len(weights):
            raise ValueError("one weight per part, and at least one part")
        self.parts = list(parts)
        self.weights = [float(w) for w in weights]
        self.dim = sum(part.dim for part in self.parts)

    def __repr__(self) -> str:
        return f"StackedRepresentation({self.parts!r}, {self.weights!r})"

    normalise = False

    def transform(self, lemma_lists: Sequence[Sequence[str]]) -> np.ndarray:
        return np.hstack([scaled_representation(part, part.transform(lemma_lists), weight)
                          for part, weight in zip(self.parts, self.weights, strict=True)])

    def transform_one(self, lemma_list: Sequence[str]) -> np.ndarray:
        return np.concatenate([scaled_representation(part, part.transform_one(lemma_list), weight)
                               for part, weight in zip(self.parts, self.weights, strict=True)])

    def describe(self) -> dict[str, Any]:
        return {"kind": "stacked-feed-representation", "dim": self.dim,
                "weights": self.weights, "parts": [part.describe() for part in self.parts]}
