"""Gunicorn settings for the tagger API (``tagger serve`` passes this file with ``-c``).

* ``preload_app``: the model is loaded once in the master; forked workers share its memory
  copy-on-write and start instantly.
* ``tagger.api.worker.TaggerWorker``: uvicorn's event loop reads every request (headers and
  body) under deadlines and size limits, then the Flask app runs on the complete request
  (tagging on the loop's thread, database and file routes on a small pool), so idle or slow
  clients never hold a thread
  (docs/serving.md). ``timeout`` (the worker heartbeat) bounds a stuck worker.
  ``TAGGER_WORKER_CLASS=gthread`` (or ``sync``) runs the plain WSGI app under that gunicorn
  worker instead, for comparisons only: those workers have no read deadlines.
* SIGHUP to the master reloads the model (load + verify in the master, then every worker swaps
  in-process via the generation file) instead of gunicorn's default worker restart, so no
  request is dropped. A model that fails verification is logged and the old one kept.
* Prometheus multiprocess mode: per-worker metric files in a runtime directory, aggregated
  by ``/metrics``; files of dead workers are marked so live-only gauges stay correct.

Environment: TAGGER_BIND, TAGGER_WORKERS, TAGGER_THREADS (pool threads per worker for the
routes not run on the loop), TAGGER_KEEPALIVE_REQUESTS (requests per connection),
TAGGER_TIMEOUT, TAGGER_HEADER_TIMEOUT and TAGGER_BODY_TIMEOUT (read deadlines, seconds),
TAGGER_ACCESS_LOG ("-" stdout (default), a file path, or "off"), TAGGER_RUNTIME_DIR,
PROMETHEUS_MULTIPROC_DIR, TAGGER_WORKER_CLASS (benchmarks only).
"""

import os
import shutil
import tempfile
from pathlib import Path

# Set before the app (and prometheus_client, numpy) is imported by preload.
_OWN_RUNTIME = not os.environ.get("TAGGER_RUNTIME_DIR")
if _OWN_RUNTIME:
    os.environ["TAGGER_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="tagger-serve-")
_RUNTIME = Path(os.environ["TAGGER_RUNTIME_DIR"])
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_RUNTIME / "metrics"))
_METRICS = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
_METRICS.mkdir(parents=True, exist_ok=True)
for _stale in _METRICS.glob("*.db"):  # counts from a previous run would be added to ours
    _stale.unlink()
os.environ.setdefault("TAGGER_RELOAD_FILE", str(_RUNTIME / "generation"))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one request per thread; no nested thread pools

bind = [os.environ.get("TAGGER_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("TAGGER_WORKERS", "2"))
WORKER_CLASSES = {"tagger": "tagger.api.worker.TaggerWorker", "gthread": "gthread",
                  "sync": "sync"}
worker_class = WORKER_CLASSES[os.environ.get("TAGGER_WORKER_CLASS", "tagger")]
threads = int(os.environ.get("TAGGER_THREADS", "2"))
preload_app = True
timeout = int(os.environ.get("TAGGER_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
_access = os.environ.get("TAGGER_ACCESS_LOG", "-")
accesslog = None if _access.lower() in ("", "off", "none") else _access
errorlog = "-"
loglevel = "info"
logger_class = "tagger.api.logs.JsonLogger"
proc_name = "tagger-api"
# gunicorn's control socket defaults to one path per user, shared by every instance, and its
# "reload" would restart workers; reload goes through SIGHUP or the admin endpoint instead.
control_socket_disable = True


def when_ready(server):
    """Replace gunicorn's SIGHUP (restart workers) with an in-place model reload."""

    def reload_model():
        # An exception escaping a signal handler would stop the gunicorn master: catch all.
        try:
            _reload_in_master(server)
        except Exception:  # noqa: BLE001
            server.log.exception("SIGHUP: reload failed, old model kept")

    server.handle_hup = reload_model
    server.log.info("tagger API ready on %s", ", ".join(server.cfg.bind))


def _reload_in_master(server):
    from tagger.api.context import find_state
    from tagger.api.state import ReloadRejected, bump_generation

    app = _flask_app(server.app.callable)  # the preloaded app
    if app is not None and find_state(app) is None:
        server.log.info("SIGHUP: no model in this app, nothing to reload")
        return
    if app is None:  # not preloaded: the workers load and verify by themselves
        from tagger.api.config import load_config
        from tagger.api.state import ModelHolder

        target = ModelHolder(load_config().model_dir).resolve()
        generation = bump_generation(Path(os.environ["TAGGER_RELOAD_FILE"]), target)
        server.log.info("SIGHUP: workers reloading %s (generation %d)", target, generation)
        return
    holder = find_state(app).holder
    server.log.info("SIGHUP: reloading the model from %s", holder.model_dir)
    try:
        tagger = holder.reload_everywhere()
    except ReloadRejected as error:
        server.log.error("SIGHUP: reload refused, old model kept: %s", error)
        return
    server.log.info("SIGHUP: workers switching to %s %s (generation %d)",
                    tagger.name, tagger.version, holder.generation)


def post_worker_init(worker):
    """Start the reload watcher and publish the model metric as soon as a worker is up,
    not at its first request."""
    from tagger.api.context import find_state

    try:
        state = find_state(_flask_app(worker.wsgi))
        if state is not None:  # None: another app under this configuration (benchmarks)
            state.holder.ensure_worker_started()
    except Exception:  # noqa: BLE001 - the request path starts it lazily anyway
        worker.log.exception("could not start the model watcher")


def _flask_app(loaded):
    """The Flask app inside what gunicorn loaded (the ASGI bridge or the app itself)."""
    return getattr(loaded, "flask_app", loaded)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_RUNTIME:
        shutil.rmtree(_RUNTIME, ignore_errors=True)
