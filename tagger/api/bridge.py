"""Run the Flask (WSGI) app behind uvicorn's event loop, one *whole* request at a time.

Why not a generic ASGI-to-WSGI adapter: those hand the WSGI app a ``wsgi.input`` that blocks a
thread until the client sends the next body bytes, so a slow client still pins a thread. Here
the event loop reads the complete body first (bounded by ``max_body_bytes`` and a read
deadline, answering 413/408 itself), and only then does a thread of a small pool run the app
on an in-memory body. Slow or idle clients cost a socket and a few bytes, never a thread.

The response is small JSON, built entirely in the thread and sent by the loop in one write.
The access log line (JSON, one per request) is written here too, so it is the same whatever
the worker class.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tagger.api.body import BUFFERED_BODY
from tagger.api.errors import error_body

_access = logging.getLogger("gunicorn.access")
_log = logging.getLogger("tagger.api.bridge")

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict], Any]

_CLOSE = [(b"connection", b"close")]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _Reject(Exception):
    def __init__(self, status: int, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or {}


class _ClientGone(Exception):
    """The client disconnected before its request was complete: there is no one to answer."""


class BufferedWSGI:
    """An ASGI 3 application wrapping a WSGI application (see the module docstring)."""

    def __init__(self, wsgi_app: Callable, *, threads: int = 4, max_body_bytes: int = 1 << 20,
                 body_timeout: float = 10.0, inline_paths: Iterable[str] = (),
                 inline_max_bytes: int = 64 << 10):
        self.wsgi_app = wsgi_app
        self.threads = threads
        self.inline_paths = frozenset(inline_paths)
        self.inline_max_bytes = inline_max_bytes
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._pid: int | None = None

    def _pool(self) -> ThreadPoolExecutor:
        # Created in the serving process: a pool made before gunicorn forks has no threads.
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="app")
        return self._executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            body = await self._read_body(scope, receive)
        except _ClientGone:
            self._log_access(scope, 499, 0, started, "-")
            return
        except _Reject as reject:
            payload = error_body(reject.status, reject.message, details=reject.details)
            request_id = _request_id(scope)
            await _send(send, reject.status, [(b"content-type", b"application/json"),
                                              (b"x-request-id", request_id.encode()), *_CLOSE],
                        payload)
            self._log_access(scope, reject.status, len(payload), started, request_id)
            return
        environ = _environ(scope, body)
        loop = asyncio.get_running_loop()
        try:
            if self._runs_inline(scope, body):
                status, headers, payload = self._run_app(environ)
            else:
                status, headers, payload = await loop.run_in_executor(
                    self._pool(), self._run_app, environ)
        except Exception:  # noqa: BLE001 - Flask answers its own errors; this is a last resort
            _log.exception("the application failed outside its error handlers")
            request_id = _request_id(scope)
            status, payload = 500, error_body(
                500, f"Internal error; quote request id {request_id} when reporting.",
                details={"request_id": request_id})
            headers = [(b"content-type", b"application/json"),
                       (b"x-request-id", request_id.encode())]
        await _send(send, status, headers, payload)
        request_id = "-"
        for name, value in headers:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        self._log_access(scope, status, len(payload), started, request_id)

    def _runs_inline(self, scope: Scope, body: bytes) -> bool:
        """Whether the loop's own thread runs this request. Tagging one abstract is pure CPU
        work shorter than handing it to a pool thread and back (future, wake-up, GIL
        hand-over, loop wake-up); measured with benchmarks/api_load.py, running it inline
        lowered p99 latency and CPU per request. Only listed paths (CPU-only routes, no
        database or file I/O) with small bodies qualify, so a batch of thousands, a model
        reload or a database write never stalls the loop; with ``threads=0`` everything runs
        inline."""
        if not self.threads:
            return True
        return scope["path"] in self.inline_paths and len(body) <= self.inline_max_bytes

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        """The whole body, read by the loop under a deadline and the size limit."""
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else None
                break
        limit = self.max_body_bytes
        if declared is not None and declared > limit:
            raise _Reject(413, "Request body too large.", {"limit_bytes": limit})
        if declared == 0:
            return b""
        deadline = time.monotonic() + self.body_timeout
        parts: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(receive(), remaining)
            except TimeoutError:
                raise _Reject(408, "The request body did not arrive in time.",
                              {"timeout_seconds": self.body_timeout}) from None
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise _Reject(413, "Request body too large.", {"limit_bytes": limit})
                parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts) if len(parts) != 1 else parts[0]

    def _run_app(self, environ: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Call the WSGI app in a pool thread and collect its whole response."""
        captured: list = []

        def start_response(status: str, headers: list, exc_info=None):
            captured[:] = [status, headers]
            return _no_write

        chunks = self.wsgi_app(environ, start_response)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status_text, headers = captured
        return (int(status_text[:3]),
                [(name.lower().encode("latin-1"), value.encode("latin-1"))
                 for name, value in headers],
                payload)

    def _log_access(self, scope: Scope, status: int, size: int, started: float,
                    request_id: str) -> None:
        if not _access.handlers:
            return
        client = scope.get("client")
        agent = "-"
        for name, value in scope["headers"]:
            if name == b"user-agent":
                agent = value.decode("latin-1")
                break
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "type": "access",
            "remote": client[0] if client else "-",
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "bytes": size,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "request_id": request_id,
            "user_agent": agent,
        }
        try:
            _access.info(json.dumps(entry, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - logging must never fail a request
            _log.exception("access log failed")


def _request_id(scope: Scope) -> str:
    """The client's X-Request-ID when well-formed (as the app does), else a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.match(text):
                return text
            break
    return os.urandom(8).hex()


def _no_write(data: bytes) -> None:
    raise RuntimeError("the WSGI write() callable is not supported")


async def _send(send: Send, status: int, headers: Iterable[tuple[bytes, bytes]],
                payload: bytes) -> None:
    headers = list(headers)
    if not any(name == b"content-length" for name, _ in headers):
        # Werkzeug sets it (also on HEAD, where the body is empty but the length is the GET's).
        headers.append((b"content-length", str(len(payload)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _environ(scope: Scope, body: bytes) -> dict:
    """The WSGI environ (PEP 3333) for a fully read request; the body is in memory, so
    ``CONTENT_LENGTH`` is its real length even when the client sent it chunked."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "REMOTE_ADDR": client[0] if client else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        BUFFERED_BODY: body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope["headers"]:
        if name == b"content-length" or name == b"transfer-encoding":
            continue
        if name == b"content-type":
            environ["CONTENT_TYPE"] = value.decode("latin-1")
            continue
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


def json_error_bytes(status: int, message: str) -> bytes:
    """For the protocol layer (before any app runs): the API's error shape as bytes."""
    return error_body(status, message)
