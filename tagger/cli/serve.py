"""``tagger serve``: run the HTTP API under gunicorn (``api/gunicorn_conf.py``).

The process replaces itself with gunicorn (exec), so its pid is the gunicorn master's:
``kill -HUP <pid>`` reloads the model, ``kill -TERM <pid>`` stops gracefully.

Without ``--model`` (and ``$TAGGER_MODEL``) the API follows the default model the CLI uses:
``models/current`` when a model was published, else the shipped one, looked up again at every
reload, so ``tagger publish`` + SIGHUP switches the API and the CLI together.
"""

from __future__ import annotations

import os
import sys

from tagger.api.launch import gunicorn_command, server_environment
from tagger.artifact import MODEL_ENV, ModelError, verify_model_dir
from tagger.cli.common import EXIT_USAGE, CommandError, add_model_argument, resolved_model_dir


def register(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="serve the HTTP API under gunicorn")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, metavar="N",
                        default=None,  # $TAGGER_WORKERS, read by run(): never at parse time
                        help="worker processes (default $TAGGER_WORKERS or 2)")
    parser.add_argument("--threads", type=int, metavar="N",
                        default=None,
                        help="application threads per worker (default $TAGGER_THREADS or 2)")
    add_model_argument(parser)
    parser.set_defaults(handler=run)


__all__ = ["gunicorn_command", "register", "run"]


def run(args) -> int:
    from tagger.cli.common import env_int

    args.workers = args.workers or env_int("TAGGER_WORKERS", 2)
    args.threads = args.threads or env_int("TAGGER_THREADS", 2)
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port {args.port}: expected 0 to 65535", status=EXIT_USAGE)
    if args.workers < 1 or args.threads < 1:
        raise CommandError("--workers and --threads must be at least 1", status=EXIT_USAGE)
    model_dir = resolved_model_dir(args.model).absolute()
    try:
        verify_model_dir(model_dir)  # fail here, readably, rather than in a worker log
    except ModelError as error:
        raise CommandError(str(error)) from None
    env = server_environment({**os.environ, "TAGGER_THREADS": str(args.threads)})
    if args.model is not None:  # pinned; otherwise the default is followed (see above)
        env[MODEL_ENV] = str(model_dir)
    command = gunicorn_command(args.host, args.port, args.workers, args.threads)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return 1  # not reached
