"""Applying a trained model: scores -> tags. The CLI, the API and the bulk engines all call
:meth:`Tagger.tag`, so the same abstract gets the same answer everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tagger.corpus import Document
from tagger.fields import Fields
from tagger.taxonomy import Taxonomy

if TYPE_CHECKING:  # scikit-learn costs seconds to import; commands that never score skip it
    from tagger.estimator import Evidence, ThemeClassifier

SCORE_DECIMALS = 4
# Calibrated scores: every theme's decision point.
DECISION_SCORE = 0.5


@dataclass
class Tagger:
    """A trained model ready to tag: taxonomy, fitted :class:`ThemeClassifier` and the
    manifest it was loaded with (empty for a model that was never saved)."""

    taxonomy: Taxonomy
    estimator: ThemeClassifier
    manifest: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "unsaved"))

    @property
    def version(self) -> str:
        return str(self.manifest.get("model_version", "0"))

    def score(self, documents: Sequence[Document]) -> np.ndarray:
        """Calibrated theme scores, one row per document, one column per taxonomy theme."""
        fields = Fields([doc.title for doc in documents], [doc.abstract for doc in documents])
        return self.estimator.score_fields(fields)

    def tag(
        self,
        documents: Sequence[Document],
        explain_tags: bool = False,
        all_scores: bool = False,
    ) -> list[dict]:
        """Tag a batch at once (one vectorised scoring call) and build the result records:
        ``{"id", "tags": [{"theme", "label", "score"}], ["scores"], ["evidence"]}``."""
        scores = self.score(documents)
        results = [self._result(doc, row, all_scores) for doc, row in zip(documents, scores,
                                                                          strict=True)]
        if explain_tags:
            index = self.taxonomy.index
            chosen = [[index(tag["theme"]) for tag in result["tags"]] for result in results]
            explained = self.estimator.explain(documents, themes=chosen)
            for result, per_theme in zip(results, explained, strict=True):
                result["evidence"] = {
                    self.taxonomy.themes[k].id: [evidence_record(e) for e in items]
                    for k, items in per_theme.items()
                }
        return results

    def _result(self, doc: Document, row: np.ndarray, all_scores: bool) -> dict:
        result: dict = {"id": doc.id, "tags": scores_to_tags(row, self.taxonomy)}
        if all_scores:
            result["scores"] = {
                theme.id: round(score, SCORE_DECIMALS)
                for theme, score in zip(self.taxonomy.themes, row.tolist(), strict=True)
            }
        return result


def evidence_record(evidence: Evidence) -> dict:
    """An explanation item as JSON: spans are character offsets into the ``title`` or the
    ``abstract`` field as scored, so a page can highlight them."""
    return {"text": evidence.text, "weight": round(evidence.weight, SCORE_DECIMALS),
            "spans": [{"field": f, "start": s, "end": e} for f, s, e in evidence.spans]}


def scores_to_tags(row: np.ndarray, taxonomy: Taxonomy) -> list[dict]:
    """The one function that turns a row of calibrated scores into tags: every theme scoring
    at least 0.5, best first (ties by taxonomy order). An empty list is a valid answer."""
    values = row.tolist()  # Python floats: cheaper to compare and round than NumPy scalars
    chosen = sorted((-score, k) for k, score in enumerate(values) if score >= DECISION_SCORE)
    themes = taxonomy.themes
    return [{"theme": themes[k].id, "label": themes[k].label,
             "score": round(-negative, SCORE_DECIMALS)} for negative, k in chosen]
