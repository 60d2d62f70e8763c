"""``POST /v1/feedback`` (store a paper and a reviewer's decisions about its themes) and
``GET /v1/labels/export`` (the current labels as JSON Lines, streamed). Both need a reviewer
token; see :mod:`tagger.api.views.reviewers`."""

from __future__ import annotations

import json

from flask import Blueprint, Response, stream_with_context

from tagger.api.body import json_body
from tagger.api.errors import ApiError
from tagger.api.schemas import DECISIONS, FeedbackRequestSchema, conflicting_themes
from tagger.api.views.common import current_tagger, json_response, load
from tagger.api.views.reviewers import review_settings, reviewer
from tagger.corpus import Document

bp = Blueprint("feedback", __name__)


_SCHEMA = FeedbackRequestSchema()


@bp.post("/v1/feedback")
def feedback() -> Response:
    name = reviewer()
    data = load(_SCHEMA, json_body())
    tagger = current_tagger()
    known = set(tagger.taxonomy.ids)
    unknown = {key: [t for t in data[key] if t not in known] for key in DECISIONS}
    unknown = {key: values for key, values in unknown.items() if values}
    if unknown:
        names = sorted({t for values in unknown.values() for t in values})
        raise ApiError(422, f"Unknown theme(s): {', '.join(names)}. GET /v1/themes lists them.",
                       code="unknown_theme",
                       details={key: [f"unknown theme {t!r}" for t in values]
                                for key, values in unknown.items()})
    conflicts = conflicting_themes(data)
    if conflicts:
        raise ApiError(409, f"Conflicting decisions: {', '.join(conflicts)} named in more than "
                       "one of accept, reject and add.", code="conflicting_decisions",
                       details={"themes": conflicts})
    store = review_settings().store()
    paper = None
    if data["abstract"] is not None:  # the schema refused a blank one
        paper = Document(id=data["id"], abstract=data["abstract"].strip(),
                         title=" ".join(data["title"].split()), source="feedback")
    elif store.paper(data["id"]) is None:
        raise ApiError(409, f"Paper {data['id']!r} is not stored yet: send its abstract.",
                       code="paper_not_stored",
                       details={"abstract": ["Required for a paper the store does not have."]})
    items = [(t, action) for action in DECISIONS for t in data[action]]
    seqs = store.record(paper, items, name, model_version=tagger.version, paper_id=data["id"])
    labels = store.current_labels(data["id"]) or set()
    return json_response({"id": data["id"], "reviewer": name, "recorded": len(seqs),
                          "labels": sorted(labels)}, status=201)


@bp.get("/v1/labels/export")
def export() -> Response:
    reviewer()
    store = review_settings().store()
    records = store.export()

    def lines():
        for record in records:
            yield json.dumps(record, ensure_ascii=False) + "\n"

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson")
