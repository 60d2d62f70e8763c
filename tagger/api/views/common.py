"""Helpers shared by the views: the current model, JSON responses, schema loading."""

from __future__ import annotations

import orjson
from flask import Response, current_app
from marshmallow import Schema, ValidationError

from tagger.api.config import ApiConfig
from tagger.api.context import holder_of, settings_of
from tagger.api.errors import ApiError
from tagger.tagging import Tagger


def settings() -> ApiConfig:
    return settings_of(current_app)


def current_tagger() -> Tagger:
    """The model for this request: read once, kept to the end even if a reload swaps it."""
    holder = holder_of(current_app)
    tagger = holder.tagger
    if tagger is None:
        raise ApiError(503, "No model is loaded; the service is not ready.",
                       details={"reason": holder.error or "loading"})
    return tagger


def model_ref(tagger: Tagger) -> dict:
    return {"name": tagger.name, "version": tagger.version}


def json_response(payload: object, status: int = 200) -> Response:
    """A JSON answer, encoded by orjson: UTF-8 without escapes (as ``ensure_ascii=False``),
    twenty times faster than ``json.dumps`` on a tag result (issue 11). Non-string keys
    (marshmallow's per-item error details) are written as strings, as ``json`` does."""
    return Response(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS), status=status,
                    mimetype="application/json")


def load(schema: Schema, data: object) -> dict:
    try:
        return schema.load(data)  # type: ignore[return-value]
    except ValidationError as error:
        raise ApiError(422, "The request does not match the schema.",
                       details=error.messages if isinstance(error.messages, dict)
                       else {"_schema": error.messages}) from None
