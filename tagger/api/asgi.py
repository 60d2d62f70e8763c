"""ASGI entry point for gunicorn's worker (``tagger.api.asgi:app``): the Flask app behind the
request-buffering bridge. Importing it loads the model, which is why gunicorn preloads it in
the master (``tagger/api/gunicorn_conf.py``)."""

import os

from tagger.api import create_app
from tagger.api.bridge import BufferedWSGI
from tagger.api.config import INLINE_PATHS

flask_app = create_app()
app = BufferedWSGI(
    flask_app,
    threads=int(os.environ.get("TAGGER_THREADS", "2")),
    max_body_bytes=flask_app.config["MAX_CONTENT_LENGTH"],
    body_timeout=float(os.environ.get("TAGGER_BODY_TIMEOUT", "10")),
    inline_paths=INLINE_PATHS,
)
app.flask_app = flask_app  # type: ignore[attr-defined]
