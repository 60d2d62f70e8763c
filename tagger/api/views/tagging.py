"""``/v1/tag``, ``/v1/tag/batch``, ``/v1/themes``, ``/v1/model``: thin wrappers around
:meth:`tagger.tagging.Tagger.tag`, so the API returns exactly the CLI's numbers."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from functools import cache

import sklearn
from flask import Blueprint, Response

from tagger.api import metrics
from tagger.api.body import json_body
from tagger.api.config import ApiConfig
from tagger.api.schemas import TagBatchRequestSchema, TagRequestSchema
from tagger.api.views.common import current_tagger, json_response, load, model_ref, settings
from tagger.corpus import Document
from tagger.tagging import Tagger

bp = Blueprint("tagging", __name__)


@contextmanager
def _lean_sklearn():
    """Skip scikit-learn's re-validation of our own pipeline's inputs and parameters
    (finite-value and parameter checks): results are identical and the request path is
    shorter. The setting is thread-local, hence per call."""
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        yield


def _document(fields: dict) -> Document:
    """Normalise as the CLI's readers do (stripped abstract, single-spaced title) so that
    the same record gets the same scores and evidence offsets through both."""
    return Document(id=fields["id"] or "", abstract=fields["abstract"].strip(),
                    title=" ".join(fields["title"].split()))


def _tag(tagger: Tagger, requests: list[dict]) -> list[dict]:
    """Tag all documents with one vectorised ``Tagger.tag`` call per ``explain`` setting
    (explanations are per document and costly, so only documents asking get them);
    ``scores`` are computed once for the batch and kept where asked."""
    results: list[dict | None] = [None] * len(requests)
    want_scores = any(r["all_scores"] for r in requests)
    for explain in (False, True):
        positions = [i for i, r in enumerate(requests) if r["explain"] == explain]
        if not positions:
            continue
        documents = [_document(requests[i]) for i in positions]
        # One abstract never reaches scikit-learn's validation (the estimator scores it on
        # its own path), so the context's two set_config calls would be pure cost there.
        with _lean_sklearn() if len(documents) > 1 else nullcontext():
            tagged = tagger.tag(documents, explain_tags=explain, all_scores=want_scores)
        for i, result in zip(positions, tagged, strict=True):
            result["id"] = requests[i]["id"]
            if not requests[i]["all_scores"]:
                result.pop("scores", None)
            results[i] = result
    metrics.record_results(results)  # type: ignore[arg-type]
    return results  # type: ignore[return-value]


@cache
def _schemas(config: ApiConfig) -> tuple[TagRequestSchema, TagBatchRequestSchema]:
    """Built once per configuration: a schema instance is reusable and thread-safe for
    ``load``, and building one per request would cost more than validating."""
    limits = {"max_abstract_chars": config.max_abstract_chars,
              "max_title_chars": config.max_title_chars}
    return (TagRequestSchema(**limits),
            TagBatchRequestSchema(max_batch=config.max_batch, **limits))


@bp.post("/v1/tag")
def tag_one() -> Response:
    tagger = current_tagger()
    fields = load(_schemas(settings())[0], json_body())
    result = _tag(tagger, [fields])[0]
    result["model"] = model_ref(tagger)
    return json_response(result)


@bp.post("/v1/tag/batch")
def tag_batch() -> Response:
    tagger = current_tagger()
    fields = load(_schemas(settings())[1], json_body())
    return json_response({"results": _tag(tagger, fields["documents"]),
                          "model": model_ref(tagger)})


@bp.get("/v1/themes")
def themes() -> Response:
    taxonomy = current_tagger().taxonomy
    return json_response({
        "taxonomy": {"name": taxonomy.name, "version": taxonomy.version},
        "themes": [{"id": t.id, "label": t.label, "description": t.description}
                   for t in taxonomy.themes],
    })


@bp.get("/v1/model")
def model() -> Response:
    tagger = current_tagger()
    return json_response({"model": model_ref(tagger), "manifest": tagger.manifest})
