"""Where the serving bridge runs a request: small requests to the listed CPU-only routes on
the event loop's own thread, everything else (other routes, large bodies) on the pool, so
a database write or a big batch never stalls the loop. Driven through the ASGI interface
with a WSGI app that answers with the name of the thread that ran it."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from tagger.api.bridge import BufferedWSGI
from tagger.api.config import INLINE_PATHS


def thread_reporting_app(environ, start_response):
    body = environ["wsgi.input"].read()
    payload = json.dumps({"thread": threading.current_thread().name,
                          "bytes": len(body)}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [payload]


def call(bridge: BufferedWSGI, path: str, body: bytes) -> tuple[dict, str]:
    """One POST through the bridge; the answer and the name of the loop's thread."""
    sent: list[dict] = []

    async def run() -> str:
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "query_string": b"",
                 "http_version": "1.1", "server": ("127.0.0.1", 80),
                 "client": ("127.0.0.1", 5), "headers": [
                     (b"content-type", b"application/json"),
                     (b"content-length", str(len(body)).encode())]}
        await bridge(scope, receive, send)
        return threading.current_thread().name

    loop_thread = asyncio.run(run())
    assert sent[0]["status"] == 200
    return json.loads(sent[1]["body"]), loop_thread


@pytest.fixture
def bridge():
    return BufferedWSGI(thread_reporting_app, threads=2, inline_paths=("/v1/tag",),
                        inline_max_bytes=1000)


def test_a_small_request_to_a_listed_route_runs_on_the_loop_thread(bridge):
    answer, loop_thread = call(bridge, "/v1/tag", b'{"abstract": "x"}')
    assert answer["thread"] == loop_thread
    assert answer["bytes"] == len(b'{"abstract": "x"}')


def test_other_routes_and_large_bodies_run_on_the_pool(bridge):
    other, loop_thread = call(bridge, "/v1/feedback", b"{}")
    assert other["thread"] != loop_thread and other["thread"].startswith("app")
    large, loop_thread = call(bridge, "/v1/tag", b" " * 1001)
    assert large["thread"] != loop_thread and large["bytes"] == 1001


def test_without_threads_everything_runs_inline():
    bridge = BufferedWSGI(thread_reporting_app, threads=0)
    answer, loop_thread = call(bridge, "/v1/feedback", b" " * 5000)
    assert answer["thread"] == loop_thread


def test_only_compute_routes_are_listed_inline():
    """Routes that touch the label database, files or model loading stay off the loop."""
    assert "/v1/tag" in INLINE_PATHS
    for path in ("/v1/feedback", "/v1/labels/export", "/v1/admin/reload", "/metrics",
                 "/v1/review/next", "/v1/review/undo"):
        assert path not in INLINE_PATHS
