"""``POST /v1/admin/reload``: reload the model from the configured directory.

Disabled (404, as if absent) unless ``TAGGER_ADMIN_TOKEN`` is set. The token is compared in
constant time and never logged. A model that fails verification is refused with 409 and the
reason; the old model keeps serving.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from tagger.api import metrics
from tagger.api.context import holder_of
from tagger.api.errors import ApiError
from tagger.api.state import ReloadRejected
from tagger.api.views.common import json_response, model_ref, settings

bp = Blueprint("admin", __name__)


def _authorise() -> None:
    token = settings().admin_token
    if not token:
        raise ApiError(404, "No such endpoint.")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8")):
        raise ApiError(401, "A valid 'Authorization: Bearer <token>' header is required.",
                       headers={"WWW-Authenticate": 'Bearer realm="tagger-admin"'})


@bp.route("/v1/admin/reload", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def reload_model() -> Response:
    # Every method reaches this view so that, with admin disabled, all of them get the same
    # 404 (a 405 would reveal that the route exists).
    if not settings().admin_token:
        raise ApiError(404, "No such endpoint.")
    if request.method != "POST":
        raise ApiError(405, "Method not allowed on this endpoint.", headers={"Allow": "POST"})
    _authorise()
    holder = holder_of(current_app)
    try:
        tagger = holder.reload_everywhere()
    except ReloadRejected as error:
        metrics.RELOADS.labels("rejected").inc()
        raise ApiError(409, "The model directory failed verification; the previous model "
                       "is still being served.", details={"reason": str(error)}) from None
    metrics.RELOADS.labels("ok").inc()
    return json_response({"status": "reloaded", "model": model_ref(tagger),
                          "generation": holder.generation})
