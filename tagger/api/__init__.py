"""The tagger HTTP API: a Flask application factory, served in production by gunicorn
(``api/gunicorn_conf.py``).

This module stays import-light on purpose: the gunicorn config must set
``PROMETHEUS_MULTIPROC_DIR`` before anything imports prometheus_client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask application; see :func:`api.app.create_app`."""
    from tagger.api.app import create_app as _create_app

    return _create_app(config)
