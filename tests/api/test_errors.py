"""Every error status, from a real gunicorn: JSON body ``{"error": {status, code, message,
details}}``, the right status, never a stack trace."""

from __future__ import annotations

import pytest
import requests

from tagger.api import schemas

JSON = {"Content-Type": "application/json"}
GOOD = "Kalman filter state space model for forecasting."


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert schemas.ErrorSchema().validate(body) == {}
    error = body["error"]
    assert error["status"] == status
    if code:
        assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in response.text
    assert response.headers["X-Request-ID"]
    return error


def raw_post(api, path, data, headers=JSON):
    return requests.post(api.url(path), data=data, headers=headers, timeout=60)


@pytest.mark.parametrize("data", [b"{", b'{"abstract": "x",}', b"", b"nul\x00l",
                                  b'{"abstract": "a"} trailing'])
def test_malformed_json_is_400(api, data):
    assert_error(raw_post(api, "/v1/tag", data), 400, "invalid_json")


@pytest.mark.parametrize("data", [b'{"abstract": "caf\xe9"}', b"\xff\xfe{}", b'"\xc3"'])
def test_body_that_is_not_utf8_is_400(api, data):
    assert_error(raw_post(api, "/v1/tag", data), 400, "invalid_utf8")


@pytest.mark.parametrize("data", [b"[" * 50_000, b'{"abstract": ' + b"[" * 30_000 + b"]" * 30_000
                                  + b"}", b'{"a":' * 10_000 + b"1" + b"}" * 10_000])
def test_deeply_nested_json_is_4xx_not_5xx(api, data):
    error = assert_error(raw_post(api, "/v1/tag/batch", data), 400, "invalid_json")
    assert "nested" in error["message"]
    assert requests.get(api.url("/healthz"), timeout=30).status_code == 200


def test_unknown_path_is_404(api):
    assert_error(requests.get(api.url("/v2/nothing"), timeout=30), 404, "not_found")
    assert_error(raw_post(api, "/v1/tags", b"{}"), 404, "not_found")


@pytest.mark.parametrize("method, path", [("get", "/v1/tag"), ("put", "/v1/tag/batch"),
                                          ("delete", "/v1/themes"), ("post", "/healthz"),
                                          ("get", "/v1/admin/reload")])
def test_wrong_method_is_405_with_allow(api, method, path):
    response = requests.request(method, api.url(path), timeout=30)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"]


def test_body_over_the_limit_is_413_by_content_length(api):
    body = b'{"abstract": "' + b"a" * 70_000 + b'"}'  # limit is 65536 in the test server
    error = assert_error(raw_post(api, "/v1/tag", body), 413, "payload_too_large")
    assert error["details"]["limit_bytes"] == 65536


def test_streamed_body_over_the_limit_is_413(api):
    def chunks():  # no Content-Length: chunked transfer encoding
        yield b'{"abstract": "'
        for _ in range(40):
            yield b"a" * 4096
        yield b'"}'

    assert_error(raw_post(api, "/v1/tag", chunks()), 413, "payload_too_large")


def test_streamed_body_under_the_limit_is_fine(api):
    def chunks():
        yield b'{"abstract": "'
        yield GOOD.encode()
        yield b'"}'

    response = raw_post(api, "/v1/tag", chunks())
    assert response.status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x",
                                          "application/json; charset=latin-1", None])
def test_non_json_content_type_is_415(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = raw_post(api, "/v1/tag", b'{"abstract": "x"}', headers=headers)
    assert_error(response, 415, "unsupported_media_type")


def test_json_with_charset_and_vendor_types_are_accepted(api):
    for content_type in ("application/json; charset=utf-8", "application/problem+json"):
        response = raw_post(api, "/v1/tag", b'{"abstract": "time series"}',
                            headers={"Content-Type": content_type})
        assert response.status_code == 200, content_type


CASES_422 = {
    "missing abstract": ({"title": "t"}, ["abstract"]),
    "blank abstract": ({"abstract": " \n\t "}, ["abstract"]),
    "empty abstract": ({"abstract": ""}, ["abstract"]),
    "null abstract": ({"abstract": None}, ["abstract"]),
    "abstract not a string": ({"abstract": 42}, ["abstract"]),
    "title not a string": ({"abstract": GOOD, "title": ["x"]}, ["title"]),
    "id not a string": ({"abstract": GOOD, "id": {"a": 1}}, ["id"]),
    "explain not a boolean": ({"abstract": GOOD, "explain": "yes"}, ["explain"]),
    "all_scores as 1": ({"abstract": GOOD, "all_scores": 1}, ["all_scores"]),
    "unknown field": ({"abstract": GOOD, "abstarct": "typo"}, ["abstarct"]),
    "abstract too long": ({"abstract": "word " * 1001}, ["abstract"]),
    "NUL in abstract": ({"abstract": "time\x00series"}, ["abstract"]),
    "NUL in title": ({"abstract": GOOD, "title": "a\x00"}, ["title"]),
    "lone surrogate": ({"abstract": "time \ud800 series"}, ["abstract"]),
    "body is a list": ([{"abstract": GOOD}], ["_schema"]),
    "body is a string": ("abstract", ["_schema"]),
}


@pytest.mark.parametrize("payload, fields", list(CASES_422.values()), ids=list(CASES_422))
def test_schema_violations_are_422_naming_the_field(api, payload, fields):
    error = assert_error(requests.post(api.url("/v1/tag"), json=payload, timeout=30), 422,
                         "validation_error")
    assert sorted(error["details"]) == sorted(fields)


BATCH_422 = {
    "empty batch": {"documents": []},
    "oversized batch": {"documents": [{"abstract": GOOD}] * 9},  # TAGGER_MAX_BATCH=8
    "documents missing": {},
    "documents not a list": {"documents": {"abstract": GOOD}},
    "unknown top-level field": {"documents": [{"abstract": GOOD}], "explain": True},
}


@pytest.mark.parametrize("payload", list(BATCH_422.values()), ids=list(BATCH_422))
def test_batch_schema_violations_are_422(api, payload):
    assert_error(requests.post(api.url("/v1/tag/batch"), json=payload, timeout=30), 422,
                 "validation_error")


def test_batch_error_details_point_at_the_bad_document(api):
    payload = {"documents": [{"abstract": GOOD}, {"abstract": ""}, {"abstract": GOOD, "x": 1}]}
    error = assert_error(requests.post(api.url("/v1/tag/batch"), json=payload, timeout=30),
                         422)
    assert set(error["details"]["documents"]) == {"1", "2"}
    assert "x" in error["details"]["documents"]["2"]


def test_largest_allowed_batch_is_accepted(api):
    payload = {"documents": [{"abstract": GOOD, "id": str(i)} for i in range(8)]}
    response = requests.post(api.url("/v1/tag/batch"), json=payload, timeout=60)
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(i) for i in range(8)]
