"""Reading a JSON request body defensively: size, media type, encoding and syntax are
checked in that order, each with its own status, before any schema sees the data."""

from __future__ import annotations

import json

from flask import request

from api.errors import ApiError

_JSON_CHARSETS = {"utf-8", "utf8"}


def is_json_media_type(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


def json_body() -> object:
    """The parsed body; :class:`ApiError` 415/400 otherwise. 413 is raised earlier (by
    Content-Length in ``before_request``) or by Werkzeug while streaming a body that has no
    length and turns out too long (``MAX_CONTENT_LENGTH``)."""
    if not is_json_media_type(request.mimetype):
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'.",
                       details={"content_type": request.content_type or ""})
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in _JSON_CHARSETS:
        raise ApiError(415, "JSON bodies must be UTF-8.", details={"charset": charset})
    raw = request.get_data(cache=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, "The body is not valid UTF-8.", code="invalid_utf8",
                       details={"byte": error.start}) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(400, f"The body is not valid JSON: {error.msg}.", code="invalid_json",
                       details={"line": error.lineno, "column": error.colno}) from None
    except RecursionError:
        raise ApiError(400, "The JSON body is nested too deeply.", code="invalid_json") from None
