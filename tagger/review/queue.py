"""The next batch of papers to review: the queued, unreviewed papers of the label store,
scored by the model and ranked by an active-learning strategy (:mod:`.strategies`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tagger.corpus import Document
from tagger.review import strategies
from tagger.store import LabelStore, Paper
from tagger.tagging import Tagger


def informativeness(tagger: Tagger, documents: Sequence[Document], strategy: str,
                    theme: str | None = None,
                    positives: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(per-paper informativeness, full score matrix). ``theme`` restricts the ranking to one
    theme; ``positives`` (training positives per theme) weights rare themes up; by default
    they come from the model's manifest."""
    ids = tagger.taxonomy.ids
    if theme is not None and theme not in ids:
        raise KeyError(theme)
    scores = tagger.score(documents)
    if positives is None:
        recorded = (tagger.manifest.get("training") or {}).get("positives") or {}
        positives = [recorded.get(t, 0) for t in ids] if recorded else None
    weights = strategies.rarity_weights(positives, len(ids))
    if theme is not None:
        mask = np.zeros(len(ids))
        mask[ids.index(theme)] = 1.0
        weights = mask
    if strategy == "disagreement":
        views = [scores, tagger.score([Document(id=d.id, abstract=d.abstract)
                                       for d in documents])]
        if any(d.title for d in documents):
            views.append(tagger.score([Document(id=d.id, abstract=d.title or d.abstract)
                                       for d in documents]))
        return strategies.disagreement(views, weights), scores
    return strategies.uncertainty(scores, weights), scores


def next_batch(store: LabelStore, tagger: Tagger, n: int = 20,
               strategy: str = strategies.DEFAULT_STRATEGY, theme: str | None = None,
               seed: int = 0) -> list[dict]:
    """Up to ``n`` queued papers nobody has reviewed, most informative first:
    ``{"id", "title", "priority", "boundary": [{"theme", "score"}]}`` where ``boundary``
    lists the themes closest to their decision point."""
    if strategy not in strategies.STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from "
                         f"{', '.join(strategies.STRATEGIES)}")
    papers: list[Paper] = store.queued_papers()
    if not papers:
        return []
    documents = [Document(id=p.id, title=p.title, abstract=p.abstract) for p in papers]
    value, scores = informativeness(tagger, documents, strategy, theme)
    vectors = strategies.text_vectors([p.title for p in papers], [p.abstract for p in papers])
    picked = strategies.select_batch(value, vectors, n, seed=seed, strategy=strategy)
    ids = tagger.taxonomy.ids
    out = []
    for i in picked:
        closeness = strategies.boundary_closeness(scores[i])
        near = np.argsort(-closeness, kind="stable")[:3]
        out.append({"id": papers[i].id, "title": papers[i].title,
                    "priority": round(float(value[i]), 4),
                    "boundary": [{"theme": ids[k], "score": round(float(scores[i, k]), 4)}
                                 for k in near]})
    return out
