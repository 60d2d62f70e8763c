"""Applying a trained model: scores -> tags. The CLI, the API and the bulk engines all call
:meth:`Tagger.tag`, so the same abstract gets the same answer everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tagger.corpus import Document
from tagger.taxonomy import Taxonomy

if TYPE_CHECKING:  # scikit-learn costs seconds to import; commands that never score skip it
    from sklearn.pipeline import Pipeline

    from tagger.model import Evidence

SCORE_DECIMALS = 4


@dataclass
class Tagger:
    """A trained model ready to tag: taxonomy, fitted pipeline, per-theme thresholds and the
    manifest it was loaded with (empty for a model that was never saved)."""

    taxonomy: Taxonomy
    pipeline: Pipeline
    thresholds: np.ndarray
    manifest: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "unsaved"))

    @property
    def version(self) -> str:
        return str(self.manifest.get("model_version", "0"))

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Theme probabilities, one row per text, one column per taxonomy theme."""
        from tagger.model import score_texts

        return score_texts(self.pipeline, texts)

    def tag(
        self,
        documents: Sequence[Document],
        explain_tags: bool = False,
        all_scores: bool = False,
    ) -> list[dict]:
        """Tag a batch at once (one vectorised scoring call) and build the result records:
        ``{"id", "tags": [{"theme", "label", "score"}], ["scores"], ["evidence"]}``."""
        probabilities = self.score([doc.text for doc in documents])
        return [
            self._result(doc, row, explain_tags, all_scores)
            for doc, row in zip(documents, probabilities, strict=True)
        ]

    def _result(self, doc: Document, row: np.ndarray, explain_tags: bool, all_scores: bool) -> dict:
        themes = self.taxonomy.themes
        result: dict = {"id": doc.id, "tags": scores_to_tags(row, self.thresholds, self.taxonomy)}
        if all_scores:
            result["scores"] = {
                theme.id: round(float(score), SCORE_DECIMALS)
                for theme, score in zip(themes, row, strict=True)
            }
        if explain_tags:
            from tagger.model import explain

            result["evidence"] = {
                tag["theme"]: [
                    self._evidence_record(evidence, doc)
                    for evidence in explain(
                        self.pipeline, doc.text, self.taxonomy.index(tag["theme"])
                    )
                ]
                for tag in result["tags"]
            }
        return result

    @staticmethod
    def _evidence_record(evidence: Evidence, doc: Document) -> dict:
        """Explanations are computed on ``doc.text`` (``title.\nabstract``); each span says
        which field it lies in, with offsets into that field, so a page can highlight it."""
        offset = len(doc.title) + 2 if doc.title else 0
        spans = []
        for start, end in evidence.spans:
            if doc.title and start < len(doc.title):
                spans.append({"field": "title", "start": start, "end": end})
            else:
                spans.append({"field": "abstract", "start": start - offset, "end": end - offset})
        return {"text": evidence.text, "weight": round(evidence.weight, SCORE_DECIMALS),
                "spans": spans}


def scores_to_tags(row: np.ndarray, thresholds: np.ndarray, taxonomy: Taxonomy) -> list[dict]:
    """The one function that turns a row of probabilities into tags: every theme at or above
    its threshold, best first (ties by taxonomy order). An empty list is a valid answer."""
    chosen = np.flatnonzero(row >= thresholds)
    chosen = sorted(chosen, key=lambda k: (-row[k], k))
    return [
        {
            "theme": taxonomy.themes[k].id,
            "label": taxonomy.themes[k].label,
            "score": round(float(row[k]), SCORE_DECIMALS),
        }
        for k in chosen
    ]
