"""Reading a JSON request body defensively: size, media type, encoding and syntax are
checked in that order, each with its own status, before any schema sees the data."""

from __future__ import annotations

import json

from flask import Request, current_app, request

from tagger.api.errors import ApiError

_JSON_CHARSETS = {"utf-8", "utf8"}
# The environ key under which tagger.api.bridge passes the complete body as bytes.
BUFFERED_BODY = "tagger.body"


def is_json_media_type(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


def _read_capped(current: Request, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes. With a Content-Length (already checked against
    the limit) Werkzeug reads exactly that; a streamed (chunked) body is read from the server's
    input in blocks and refused with 413 as soon as it passes the limit."""
    buffered = current.environ.get(BUFFERED_BODY)
    if buffered is not None:  # read whole by the bridge, already checked against the limit
        return buffered
    if current.content_length is not None:
        return current.get_data(cache=False)
    stream = current.environ["wsgi.input"]
    blocks, size = [], 0
    while block := stream.read(min(65536, limit + 1 - size)):
        blocks.append(block)
        size += len(block)
        if size > limit:
            raise ApiError(413, "Request body too large.", details={"limit_bytes": limit})
    return b"".join(blocks)


def json_body() -> object:
    """The parsed body; :class:`ApiError` 415/400 otherwise. 413 is raised earlier (by
    Content-Length in ``before_request``) or by Werkzeug while streaming a body that has no
    length and turns out too long (``MAX_CONTENT_LENGTH``)."""
    current = request._get_current_object()  # type: ignore[attr-defined] - one proxy lookup
    if not is_json_media_type(current.mimetype):
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'.",
                       details={"content_type": current.content_type or ""})
    charset = current.mimetype_params.get("charset", "utf-8").lower()
    if charset not in _JSON_CHARSETS:
        raise ApiError(415, "JSON bodies must be UTF-8.", details={"charset": charset})
    raw = _read_capped(current, current_app.config["MAX_CONTENT_LENGTH"])
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
    except ValueError as error:  # e.g. an integer beyond Python's int-string digit limit
        raise ApiError(400, f"The body is not valid JSON: {error}.",
                       code="invalid_json") from None
