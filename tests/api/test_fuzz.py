"""Hostile and random input against a live gunicorn: nothing a client sends may cause a 5xx
or leave the server unhealthy.

Two fuzzers: schemathesis generates valid and invalid requests for every operation in the
app's own ``/openapi.json``; a hypothesis raw-bytes fuzzer posts what no schema describes
(random bytes, invalid UTF-8, NUL bytes, deep nesting, odd content types, chunked bodies) to
the tagging endpoints.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

TAG_PATHS = ("/v1/tag", "/v1/tag/batch")
FUZZ_SETTINGS = settings(max_examples=40, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))


# Every operation in the OpenAPI document; the guard test below fails when the document grows
# an operation this list (and so the fuzzer) does not cover.
OPERATIONS = [
    ("POST", "/v1/tag"), ("POST", "/v1/tag/batch"), ("GET", "/v1/themes"), ("GET", "/v1/model"),
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("POST", "/v1/admin/reload"),
    ("GET", "/v1/themes/{theme}/feed.atom"), ("GET", "/v1/feed.atom"), ("GET", "/themes"),
    ("GET", "/themes/{theme}"),
]


@pytest.fixture(scope="module")
def api_schema(api_server):
    schema = schemathesis.openapi.from_url(f"{api_server.base_url}/openapi.json", timeout=10)
    schema.config.update(base_url=api_server.base_url)
    return schema


def test_fuzzer_covers_every_documented_operation(api_schema):
    documented = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert documented == set(OPERATIONS)


# schemathesis's own pytest loader (``schemathesis.pytest.from_fixture``) breaks on pytest 9
# (it rewrites the removed ``Node._nodeid``), so its documented Python API drives hypothesis
# here instead: valid and invalid cases for one operation per test.
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_openapi_operation_never_answers_5xx(api_schema, method, path):
    operation = api_schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @FUZZ_SETTINGS
    def check(case):
        case.call_and_validate(checks=[not_a_server_error], timeout=30)

    check()


# -- raw bytes ------------------------------------------------------------------------------

_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                          st.text(max_size=40))
_json_values = st.recursive(
    _json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=20,
)
_FIELDS = ["abstract", "title", "id", "explain", "all_scores", "documents", "extra", ""]
# Objects shaped like requests, with every field's value drawn from anything JSON can hold.
_request_like = st.dictionaries(st.sampled_from(_FIELDS), _json_values, max_size=6)
# Requests that may well be valid: any Unicode text as abstract/title (the tokenizer,
# features and evidence offsets must cope), flags set or not.
_plausible = st.fixed_dictionaries(
    {"abstract": st.text(max_size=400)},
    optional={"title": st.text(max_size=80), "id": st.text(max_size=20),
              "explain": st.booleans(), "all_scores": st.booleans()},
)
_batch_like = st.builds(lambda docs: {"documents": docs},
                        st.lists(st.one_of(_plausible, _request_like), max_size=4))


def _encode(value) -> bytes:
    return json.dumps(value).encode("utf-8")


def _corrupt(data: bytes, position: int, junk: bytes) -> bytes:
    position %= len(data) + 1
    return data[:position] + junk + data[position:]


_bodies = st.one_of(
    st.binary(max_size=2048),
    _json_values.map(_encode),
    _request_like.map(_encode),
    _plausible.map(_encode),
    _plausible.map(lambda doc: {"documents": [doc]}).map(_encode),
    _batch_like.map(_encode),
    # A plausible request with invalid UTF-8, NUL bytes or a stray byte spliced in.
    st.builds(_corrupt, _request_like.map(_encode), st.integers(0, 10_000),
              st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\\u0000", b'"',
                               b"\\ud800", b"{", b"\x80\x80"])),
    # Deeply nested arrays/objects, in and out of a field.
    st.builds(lambda depth, opener, closer: opener * depth + closer * depth,
              st.integers(1, 200_000), st.sampled_from([b"["]), st.sampled_from([b"]", b""])),
    st.builds(lambda depth: b'{"abstract": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}",
              st.integers(1, 50_000)),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
_content_types = st.one_of(
    st.just("application/json"),  # most bodies should get past the media-type check
    st.just("application/json; charset=utf-8"),
    st.sampled_from([
        "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
        "application/json; charset=", "application/problem+json", "text/plain", "text/json",
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
        "application/octet-stream", "", "*/*", "application/json;;;", "json",
    ]),
    # Any printable ASCII a client library will put in a header (no edge whitespace).
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
)


def _assert_json_error_or_tags(response: requests.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    body = response.json()  # every answer is JSON, errors included
    if response.status_code >= 400:
        assert body["error"]["status"] == response.status_code
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    else:
        assert "tags" in body or "results" in body


@given(path=st.sampled_from(TAG_PATHS), body=_bodies, content_type=_content_types,
       chunked=st.booleans())
@settings(FUZZ_SETTINGS, max_examples=150)
def test_raw_bodies_never_answer_5xx(api_server, path, body, content_type, chunked):
    headers = {"Content-Type": content_type} if content_type else {}
    data = iter([body]) if chunked else body  # a generator is sent chunked, without a length
    response = requests.post(api_server.base_url + path, data=data, headers=headers, timeout=30)
    event(f"status {response.status_code}")  # --hypothesis-show-statistics: what was reached
    _assert_json_error_or_tags(response)


@pytest.mark.parametrize("path", TAG_PATHS)
def test_chunked_body_over_the_limit_is_413(api_server, path):
    chunk = b"a" * 65536
    data = (chunk for _ in range(40))  # 2.5 MiB, no Content-Length: the limit must still hold
    response = requests.post(api_server.base_url + path, data=data,
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["status"] == 413


def test_server_healthy_after_fuzzing(api_server):
    """Runs last in this module (pytest keeps file order): the fuzzing left no damage."""
    for path in ("/healthz", "/readyz"):
        assert requests.get(api_server.base_url + path, timeout=10).status_code == 200
    response = requests.post(api_server.base_url + "/v1/tag", timeout=10,
                             json={"abstract": "We forecast seasonal time series."})
    assert response.status_code == 200
    assert isinstance(response.json()["tags"], list)
