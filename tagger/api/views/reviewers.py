"""Who is reviewing: the review routes' guards (404 while reviewing is off, 401 without a
valid bearer token). Tokens are compared in constant time and never logged; where they come
from is :mod:`tagger.api.review_config`.
"""

from __future__ import annotations

import hmac

from flask import current_app, request

from tagger.api.context import review_of
from tagger.api.errors import ApiError
from tagger.api.review_config import ReviewSettings


def review_settings() -> ReviewSettings:
    return review_of(current_app)


def require_enabled() -> ReviewSettings:
    settings = review_settings()
    if not settings.enabled:
        raise ApiError(404, "No such endpoint.")
    return settings


def reviewer() -> str:
    """The reviewer's name for this request's bearer token (404 when reviewing is off, 401
    for a missing or unknown token)."""
    settings = require_enabled()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given_bytes = given.strip().encode("utf-8", "surrogateescape")
    found = None
    for token, name in settings.tokens.items():  # no early exit: constant time in the match
        if hmac.compare_digest(given_bytes, token.encode("utf-8")):
            found = name
    if scheme.lower() != "bearer" or found is None:
        raise ApiError(401, "A valid reviewer token is required: "
                       "'Authorization: Bearer <token>'.",
                       headers={"WWW-Authenticate": 'Bearer realm="tagger-review"'})
    return found
