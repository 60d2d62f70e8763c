"""The framework's ceiling for ``benchmarks/api_load.py``: a bare Flask app that answers
``POST /v1/tag`` with the JSON body it was sent, served by the same gunicorn configuration,
worker class and thread count as ``tagger serve`` (``wsgi`` for the plain gunicorn workers,
``app`` behind the same request-buffering bridge, with the same inline routes, for the
default worker). No model, no schema, no metrics: what is left is the cost of HTTP, gunicorn
and Flask themselves."""

from __future__ import annotations

import os

from flask import Flask, Response, request

from tagger.api.bridge import BufferedWSGI
from tagger.api.config import INLINE_PATHS

wsgi = Flask("echo")


@wsgi.post("/v1/tag")
def echo() -> Response:
    return Response(request.get_data(), mimetype="application/json")


@wsgi.get("/readyz")
def ready() -> Response:
    return Response(b'{"status": "ready"}', mimetype="application/json")


app = BufferedWSGI(wsgi, threads=int(os.environ.get("TAGGER_THREADS", "2")),
                   inline_paths=INLINE_PATHS)
