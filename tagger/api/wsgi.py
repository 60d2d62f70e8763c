"""WSGI entry point for gunicorn: ``api.wsgi:app``. Importing it loads the model, which is
why gunicorn preloads it in the master (``api/gunicorn_conf.py``)."""

from tagger.api import create_app

app = create_app()
