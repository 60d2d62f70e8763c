"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from tagger.api import metrics
from tagger.api.context import holder_of
from tagger.api.errors import ApiError
from tagger.api.views.common import json_response, model_ref

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers; says nothing about the model (that is ``/readyz``)."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    holder = holder_of(current_app)
    tagger = holder.tagger
    if tagger is None:
        raise ApiError(503, "No model is loaded; the service is not ready.",
                       details={"reason": holder.error or "loading"})
    return json_response({"status": "ready", "model": model_ref(tagger)})


@bp.get("/metrics")
def metrics_text() -> Response:
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
