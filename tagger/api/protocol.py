"""uvicorn's httptools protocol with the guards an internet-facing server needs.

uvicorn only times out *idle keep-alive* connections; a client that connects and sends nothing,
or sends its headers a byte at a time, keeps its socket forever. Sockets are cheap on an event
loop (no thread is held), but they are still bounded here:

* **header deadline**: from the connection (or the end of the previous response) the request
  line and headers must arrive within ``header_timeout`` seconds: a client that sent part of a
  request gets ``408`` JSON, one that sent nothing is closed;
* **sizes**: request target over ``max_url_bytes`` -> ``414``; more than ``max_headers``
  header fields or ``max_header_bytes`` of header data -> ``431``;
* **framing errors** the parser finds (bad chunk size, bad Content-Length, bad request line)
  -> ``400`` in the API's JSON error shape instead of uvicorn's plain text;
* **requests per connection**: after ``keepalive_requests`` requests a connection's answer
  carries ``Connection: close`` (nginx's ``keepalive_requests``). Gunicorn's workers share
  one listening socket, and a worker's loop accepts every connection that is waiting when it
  looks, so a burst of keep-alive clients can all land on one worker and stay there while the
  others idle (seen in benchmarks/api_load.py: half the throughput, one core busy). Making
  clients reconnect now and then lets an idle worker, already waiting in ``accept``, take
  the new connection: the load evens out within a second or two.

All of these answers close the connection, gracefully when the request was not read to its
end (:meth:`GuardedHttpToolsProtocol.linger_close`). The body deadline and size limit are
enforced by :mod:`tagger.api.bridge`, which reads the body before the app runs.
"""

from __future__ import annotations

import asyncio
import os

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tagger.api.bridge import json_error_bytes

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 414: b"URI Too Long",
            431: b"Request Header Fields Too Large"}


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


HEADER_TIMEOUT = _env_number("TAGGER_HEADER_TIMEOUT", 10.0)
MAX_URL_BYTES = 8190
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32768
LINGER_SECONDS = 2.0
KEEPALIVE_REQUESTS = int(_env_number("TAGGER_KEEPALIVE_REQUESTS", 100))


class _TooLarge(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """See the module docstring."""

    header_timeout = HEADER_TIMEOUT
    keepalive_requests = KEEPALIVE_REQUESTS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._draining_close = _DrainingClose(self)
        self._requests_started = 0
        self._head_bytes = 0
        self._header_count = 0
        self._head_started = False
        self._reject: _TooLarge | None = None
        self._lingering = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    # -- header deadline -----------------------------------------------------------------
    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served; its body deadline is the bridge's
        if self._head_started:
            self._answer(408, "The request headers did not arrive in time.")
        else:
            self.transport.close()

    # -- parser callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        self._head_bytes = 0
        self._header_count = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            raise _TooLarge(414, "The request target is too long.")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._head_bytes += len(name) + len(value)
        if self._header_count > MAX_HEADERS or self._head_bytes > MAX_HEADER_BYTES:
            raise _TooLarge(431, "The request headers are too large.")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self._head_started = False
        super().on_headers_complete()
        self._requests_started += 1
        if self.cycle is not None:
            self.cycle.transport = self._draining_close  # type: ignore[assignment]
            if self._requests_started >= self.keepalive_requests:
                self.cycle.keep_alive = False  # uvicorn answers "Connection: close", closes

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # answered and half-closed: drain what the client still sends
        try:
            super().data_received(data)
        finally:
            # A single endless header line is buffered by the parser before any callback:
            # bound what arrives while the head is incomplete.
            if self._head_started and not self._lingering and not self.transport.is_closing():
                self._head_bytes += len(data)
                if self._head_bytes > 4 * MAX_HEADER_BYTES:
                    self._answer(431, "The request headers are too large.")

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn when the parser fails; a callback's own refusal (414/431) arrives
        here as the parser error it caused."""
        cause = self._callback_error()
        if cause is not None:
            self._answer(cause.status, cause.message)
        else:
            self._answer(400, "The request is not valid HTTP/1.1 (framing, chunk size, "
                              "Content-Length or request line).")

    def _callback_error(self) -> _TooLarge | None:
        import sys

        error = sys.exc_info()[1]
        while error is not None:
            if isinstance(error, _TooLarge):
                return error
            error = error.__cause__ or error.__context__
        return None

    def _answer(self, status: int, message: str) -> None:
        """Send the JSON error, then close *gracefully*: closing a socket that still has
        unread request bytes makes the kernel send a reset, and the client may lose the answer
        (typically a client still uploading an oversized head). So: FIN after the answer, drain
        and discard what still arrives, close for good after ``LINGER_SECONDS``."""
        if self.transport.is_closing() or self._lingering:
            return
        body = json_error_bytes(status, message)
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                b"x-request-id: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
                % (status, _REASONS.get(status, b"Error"), os.urandom(8).hex().encode(),
                   len(body)))
        self.transport.write(head + body)
        self.logger.info("answered %d before the app: %s", status, message)
        self.linger_close()

    def linger_close(self) -> None:
        """Close after an answer given before the request body was read (413, 408...):
        half-close, drain what the client still sends, close for good later. Closing a socket
        with unread data sends a reset, and the client may never read the answer."""
        if self.transport.is_closing() or self._lingering:
            return
        self._lingering = True
        self._cancel_head_timer()
        self.flow.resume_reading()
        try:
            self.transport.write_eof()
        except (NotImplementedError, AttributeError, OSError, RuntimeError):
            self.transport.close()
            return
        self.loop.call_later(LINGER_SECONDS, self._close_now)

    def _close_now(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)


class _DrainingClose:
    """The transport as uvicorn's request cycle sees it. The cycle closes the connection
    after an answer marked ``Connection: close``; when that answer came before the whole
    request body (the bridge's 413 for a declared length over the limit, its 408), the close
    drains first (:meth:`GuardedHttpToolsProtocol.linger_close`). Everything else is the
    real transport."""

    def __init__(self, protocol: GuardedHttpToolsProtocol):
        self._protocol = protocol
        self._transport = protocol.transport

    def close(self) -> None:
        cycle = self._protocol.cycle
        if cycle is not None and cycle.more_body:
            self._protocol.linger_close()
        else:
            self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


__all__ = ["GuardedHttpToolsProtocol", "httptools"]
