"""The application factory: configuration, the model holder, blueprints, error handlers and
the per-request bookkeeping (request id, body limit, metrics).

The only module that knows every blueprint; the state it builds goes to
:mod:`tagger.api.context`, where the views read it (they never import this module)."""

from __future__ import annotations

import logging
import random
import re
import time

from flask import Flask, Response, current_app, g, request

from tagger.api import metrics
from tagger.api.config import load_config
from tagger.api.context import AppState, attach, holder_of
from tagger.api.errors import ApiError, register_error_handlers
from tagger.api.review_config import load_settings
from tagger.api.state import ModelHolder

_log = logging.getLogger("tagger.api.app")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _TaggerFlask(Flask):
    """Flask, remembering which views and hooks are synchronous: Flask asks ``inspect`` for
    every hook and view on every request (four times per tag request here), and the answer
    never changes for a function."""

    def ensure_sync(self, func):  # type: ignore[no-untyped-def]
        known = self.__dict__.setdefault("_ensured", {})
        wrapped = known.get(func)
        if wrapped is None:
            wrapped = known[func] = super().ensure_sync(func)
        return wrapped


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (see :mod:`api.config`); the
    model is loaded here, once, so gunicorn's ``preload_app`` shares it with every worker."""
    settings = load_config(config)
    _configure_logging()  # first: loading the model below logs (what it compiled, failures)
    app = _TaggerFlask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # No automatic OPTIONS answers (an empty text/html 200): OPTIONS gets the JSON 405 with
    # an Allow header like any other method a route does not serve.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    holder = ModelHolder(settings.model_dir, settings.reload_file,
                         on_swap=metrics.record_model_swap,
                         compiled_scoring=settings.compiled_scoring)
    holder.load_initial()
    attach(app, AppState(settings=settings, holder=holder, review=load_settings()))

    from tagger.api.views import admin, docs, feedback, feeds, ops, review, tagging

    for blueprint in (tagging.bp, admin.bp, ops.bp, docs.bp, review.bp, feedback.bp, feeds.bp):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    app.before_request(_before)
    app.after_request(_after)
    return app


def _before() -> None:
    # one lookup per context-local proxy (each costs about a microsecond)
    state = g._get_current_object()  # type: ignore[attr-defined]
    state.started = time.perf_counter()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    current = request._get_current_object()  # type: ignore[attr-defined]
    incoming = current.environ.get("HTTP_X_REQUEST_ID", "")
    # random's module generator (reseeded in every forked worker), not os.urandom: a log key
    # needs no system call, which releases and re-takes the GIL, a measurable wait while
    # another thread scores.
    state.request_id = (incoming if _REQUEST_ID.match(incoming)
                        else f"{random.getrandbits(64):016x}")
    holder_of(app).ensure_worker_started()
    length = current.content_length
    limit = app.config["MAX_CONTENT_LENGTH"]
    if length is not None and length > limit:
        raise ApiError(413, "Request body too large.", details={"limit_bytes": limit})


def _after(response: Response) -> Response:
    state = g._get_current_object()  # type: ignore[attr-defined]
    response.headers["X-Request-ID"] = state.get("request_id", "-")
    current = request._get_current_object()  # type: ignore[attr-defined]
    rule = current.url_rule
    started = state.get("started")
    if started is not None:
        try:
            metrics.record_request(rule.rule if rule is not None else "unmatched",
                                   current.method, response.status_code,
                                   time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - bookkeeping must never fail the answer
            _log.exception("could not record request metrics")
    return response


def _configure_logging() -> None:
    """Application logs go through the gunicorn error log's JSON handlers when served by
    gunicorn; standalone, a JSON handler on stderr."""
    from tagger.api.logs import configure_app_logging

    configure_app_logging()
