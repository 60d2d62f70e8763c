"""``POST /v1/feedback`` (store a paper and a reviewer's decisions about its themes) and
``GET /v1/labels/export`` (the current labels as JSON Lines, streamed). Both need a reviewer
token; see :mod:`tagger.api.views.reviewers`."""

from __future__ import annotations

import json

from flask import Blueprint, Response, stream_with_context
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from tagger.api.body import json_body
from tagger.api.errors import ApiError
from tagger.api.views.common import current_tagger, json_response, load
from tagger.api.views.reviewers import review_settings, reviewer
from tagger.corpus import Document

bp = Blueprint("feedback", __name__)


def _no_nul(value: str) -> None:
    """NUL characters and lone surrogates are not text: refused, as in the tagging schemas."""
    if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
        raise ValidationError("Must not contain NUL characters or unpaired surrogates.")

_THEMES = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                      load_default=list, validate=validate.Length(max=100))


class FeedbackRequestSchema(Schema):
    """A reviewer's decisions about one paper's themes."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=[validate.Length(min=1, max=512), _no_nul],
                       metadata={"description": "The paper's id (its key in the label store)."})
    title = fields.String(load_default="", validate=[validate.Length(max=2000), _no_nul])
    abstract = fields.String(load_default=None, validate=[validate.Length(max=20000), _no_nul],
                             metadata={"description": "Required the first time a paper is "
                                       "sent; later decisions may give only the id."})
    accept = fields.List(fields.String(), load_default=list,
                         metadata={"description": "Suggested themes that are right."})
    reject = fields.List(fields.String(), load_default=list,
                         metadata={"description": "Suggested themes that are wrong."})
    add = fields.List(fields.String(), load_default=list,
                      metadata={"description": "Missed themes."})

    @validates_schema
    def _decisions(self, data: dict, **_kwargs) -> None:
        named = [t for key in ("accept", "reject", "add") for t in data.get(key, [])]
        if not named:
            raise ValidationError("Give at least one theme in accept, reject or add.",
                                  "_schema")
        if len(named) > 100:
            raise ValidationError("At most 100 decisions per request.", "_schema")
        repeated = sorted({t for t in named if named.count(t) > 1})
        if repeated:
            raise ValidationError(f"A theme may appear once per request: {repeated}.",
                                  "_schema")


class FeedbackResponseSchema(Schema):
    id = fields.String(required=True)
    reviewer = fields.String(required=True)
    recorded = fields.Integer(required=True, metadata={"description": "Decisions stored."})
    labels = fields.List(fields.String(), required=True,
                         metadata={"description": "The paper's current labels (last "
                                   "decision wins)."})


class LabelRecordSchema(Schema):
    """One line of ``/v1/labels/export``."""

    id = fields.String(required=True)
    title = fields.String(required=True)
    abstract = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    source = fields.String(required=True)
    reviewers = fields.Integer(required=True, metadata={"description": "How many reviewers "
                               "decided on this paper (a count, never names)."})
    last_reviewed = fields.String(required=True)


_SCHEMA = FeedbackRequestSchema()


@bp.post("/v1/feedback")
def feedback() -> Response:
    name = reviewer()
    data = load(_SCHEMA, json_body())
    tagger = current_tagger()
    known = set(tagger.taxonomy.ids)
    unknown = {key: [t for t in data[key] if t not in known]
               for key in ("accept", "reject", "add")}
    unknown = {key: values for key, values in unknown.items() if values}
    if unknown:
        names = sorted({t for values in unknown.values() for t in values})
        raise ApiError(422, f"Unknown theme(s): {', '.join(names)}. GET /v1/themes lists them.",
                       code="unknown_theme",
                       details={key: [f"unknown theme {t!r}" for t in values]
                                for key, values in unknown.items()})
    store = review_settings().store()
    paper = None
    if data["abstract"] is not None:
        if not data["abstract"].strip():
            raise ApiError(422, "The request does not match the schema.",
                           details={"abstract": ["Must not be blank."]})
        paper = Document(id=data["id"], abstract=data["abstract"].strip(),
                         title=" ".join(data["title"].split()), source="feedback")
    elif store.paper(data["id"]) is None:
        raise ApiError(422, f"Paper {data['id']!r} is not stored yet: send its abstract.",
                       details={"abstract": ["Required for a paper the store does not have."]})
    items = [(t, action) for action in ("accept", "reject", "add") for t in data[action]]
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
