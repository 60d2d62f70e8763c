"""The gunicorn worker class: uvicorn's event loop (uvloop + httptools) reading requests under
deadlines (:mod:`tagger.api.protocol`), the Flask app run from a small thread pool once a
request is complete (:mod:`tagger.api.bridge`). Gunicorn stays the process manager (preload,
SIGHUP, worker restarts, timeouts); see docs/serving.md for why this design."""

from __future__ import annotations

from uvicorn_worker import UvicornWorker


class TaggerWorker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": "tagger.api.protocol:GuardedHttpToolsProtocol",
                     "lifespan": "off", "access_log": False, "proxy_headers": False,
                     "server_header": False}
