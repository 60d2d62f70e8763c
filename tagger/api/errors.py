"""One error shape for every failure: ``{"error": {"status", "code", "message", "details"}}``.

Werkzeug's HTTP errors (404, 405, 413...) are rewritten into it; anything unexpected becomes
a 500 whose body says only which request id to look for in the server log (never a trace).
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, g
from werkzeug.exceptions import HTTPException

log = logging.getLogger("tagger.api.errors")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "model_rejected",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    431: "headers_too_large",
    500: "internal_error",
    503: "not_ready",
}


class ApiError(Exception):
    """Raised by views to answer with a JSON error."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def error_body(status: int, message: str, code: str | None = None,
               details: dict | None = None) -> bytes:
    """The error shape as bytes; also used below the app (the protocol and the bridge answer
    framing errors, slow clients and oversized bodies before Flask sees the request)."""
    body = {"error": {"status": status, "code": code or _CODES.get(status, "error"),
                      "message": message, "details": _string_keys(details or {})}}
    return json.dumps(body).encode("utf-8")


def error_response(status: int, message: str, code: str | None = None,
                   details: dict | None = None, headers: dict | None = None) -> Response:
    response = Response(error_body(status, message, code, details), status=status,
                        mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _string_keys(value):
    """Marshmallow reports list positions as int keys; JSON objects need string keys."""
    if isinstance(value, dict):
        return {str(key): _string_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_string_keys(item) for item in value]
    return value


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = {
        404: "No such endpoint.",
        405: "Method not allowed on this endpoint.",
        413: "Request body too large.",
    }.get(status, error.description or error.name)
    headers = {}
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(sorted(error.valid_methods))  # type: ignore[attr-defined]
    return error_response(status, message, headers=headers)


def _api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message, error.code, error.details, error.headers)


def _unexpected(error: Exception) -> Response:
    request_id = getattr(g, "request_id", "-")
    log.error("unhandled error in request %s", request_id, exc_info=error)
    return error_response(500, f"Internal error; quote request id {request_id} when reporting.",
                          details={"request_id": request_id})


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
