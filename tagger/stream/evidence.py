"""Evidence phrases for the papers a feed, page or digest shows.

Explaining costs ~1.5 ms a paper, ten times scoring it, so ingest stores scores only and the
phrases are computed here, for the (paper, theme) pairs actually shown, in one
:meth:`ThemeClassifier.explain` call, and kept in ``stream_evidence`` (per model), so each pair
is explained once. Keeping is best effort: a store that refuses the write (read-only, busy)
still gets the phrases shown.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from tagger.corpus import Document
from tagger.stream.store import Entry, StreamStore
from tagger.tagging import Tagger

MAX_PHRASES = 3  # one evidence line: the strongest few phrases
log = logging.getLogger("tagger.stream.evidence")


def add_evidence(store: StreamStore, tagger: Tagger, entries: Sequence[Entry]) -> None:
    """Fill ``entry.evidence[theme]`` for every theme each entry is shown with (``[]`` for a
    theme the model does not know, or where no phrase raised the score)."""
    index = {theme.id: k for k, theme in enumerate(tagger.taxonomy.themes)}
    pairs = [(e.pk, t) for e in entries for t in e.scores if t in index]
    if not pairs:
        return
    model_id: int | None = None
    found: dict[tuple[int, str], list[str]] = {}
    try:
        model_id = store.model_id(tagger.name, tagger.version)
        found = store.evidence(pairs, model_id)
    except SQLAlchemyError as error:  # e.g. a read-only database: explain, keep nothing
        log.warning("stored evidence not available (computed instead): %s", error)
    todo = [e for e in entries if any((e.pk, t) not in found for t in e.scores if t in index)]
    if todo:
        themes = [[index[t] for t in e.scores if t in index and (e.pk, t) not in found]
                  for e in todo]
        documents = [Document(id=e.paper_id, title=e.title, abstract=e.abstract) for e in todo]
        explained = tagger.estimator.explain(documents, themes=themes)
        new = {}
        for entry, wanted, per_theme in zip(todo, themes, explained, strict=True):
            for k in wanted:
                items = per_theme.get(k, [])
                new[(entry.pk, tagger.taxonomy.themes[k].id)] = [
                    item.text for item in items[:MAX_PHRASES]]
        found.update(new)
        try:
            if model_id is not None:
                store.save_evidence(new, model_id)
        except SQLAlchemyError as error:
            log.warning("evidence not kept (shown all the same): %s", error)
    for entry in entries:
        entry.evidence = {t: found.get((entry.pk, t), []) for t in entry.scores}
