"""The theme feeds and pages on a real gunicorn over real HTTP, reading a store that real
``tagger ingest`` runs filled: the Atom parses back with feedparser and carries the right
papers in order, conditional GETs answer 304, unknown themes 404, reviewers' corrections change
the feed, and the OpenAPI document declares the routes exactly. The pages in headless
Chromium at phone width, with the digest's HTML."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
import requests

from tests.api.conftest import serve_api
from tests.api.test_demo_page import browser, page  # noqa: F401 - shared browser fixtures
from tests.api.test_review_page import screenshot_dir
from tests.stream_data import papers, write_jsonl

TAGGER = str(Path(sys.executable).parent / "tagger")
TOKEN = "feed-reviewer-01"
THEME = "time-series"


@pytest.fixture(scope="module")
def stream(small_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("feeds")
    db = root / "stream.db"
    records = papers(60, seed=9) + [{"id": "local-7", "title": "Forecasting sensor time series",
                                      "abstract": "We propose a forecasting method for time "
                                      "series of sensor data over a long horizon.",
                                      "month": "", "categories": [], "tags": []}]
    source = write_jsonl(root / "papers.jsonl", records)
    for command in (["ingest", str(source), "--db", str(db)],):
        done = subprocess.run([TAGGER, *command, "--model", str(small_model), "--jobs", "1",
                               "--quiet", "--batch-size", "16"], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    tagged = subprocess.run([TAGGER, "tag", str(source), "--model", str(small_model),
                             "--all-scores", "--quiet"], capture_output=True, text=True,
                            timeout=300)
    scores = {json.loads(line)["id"]: json.loads(line)["scores"]
              for line in tagged.stdout.splitlines()}
    env = {"TAGGER_DB": str(db), "TAGGER_REVIEW_TOKENS": f"ann={TOKEN}"}
    with serve_api(small_model, root, workers=1, env=env) as server:
        server.records = records
        server.scores = scores
        server.db = db
        yield server


def expected(server, theme: str, min_score: float = 0.5, n: int = 30,
             rejected=(), added=()) -> list[str]:
    """Newest first is input order reversed (every paper was new when ingested)."""
    ids = [r["id"] for r in server.records
           if (server.scores[r["id"]][theme] >= min_score or r["id"] in added)
           and r["id"] not in rejected]
    return ids[::-1][:n]


def feed_ids(feed) -> list[str]:
    return [e.id.removeprefix("urn:tagger:paper:") for e in feed.entries]


def test_theme_feed_is_atom_with_the_newest_papers_scores_and_evidence(stream):
    answer = requests.get(stream.url(f"/v1/themes/{THEME}/feed.atom?n=8"), timeout=60)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    assert answer.headers["ETag"] and answer.headers["Last-Modified"]
    feed = feedparser.parse(answer.content)
    assert not feed.bozo and feed.version == "atom10"
    assert feed.feed.title == "Time series: new papers (tagger)"
    want = expected(stream, THEME, n=8)
    assert len(want) == 8 and feed_ids(feed) == want
    by_id = {r["id"]: r for r in stream.records}
    assert want[0] == "local-7"  # newest; not an arXiv id, so no link to arXiv
    assert not feed.entries[0].get("links")
    first = feed.entries[1]
    paper = by_id[want[1]]
    assert first.title == paper["title"] and first.summary == paper["abstract"]
    assert first.link == "https://arxiv.org/abs/" + want[1].removeprefix("arxiv:")
    score = stream.scores[want[1]][THEME]
    assert f"score {score:.2f}" in first.content[0].value
    assert "evidence: <em>" in first.content[0].value
    terms = {tag.term for tag in first.tags}
    assert THEME in terms and {"cs.LG", "stat.ML"} <= terms
    # the non-arXiv paper has no link to arXiv, and min_score narrows the feed
    loose = feedparser.parse(requests.get(stream.url(
        f"/v1/themes/{THEME}/feed.atom?n=100&min_score=0.8"), timeout=60).content)
    assert feed_ids(loose) == expected(stream, THEME, 0.8, 100)


def test_several_themes_in_one_feed(stream):
    themes = ["time-series", "state-space-models"]
    answer = requests.get(stream.url("/v1/feed.atom"), timeout=60,
                          params={"themes": ",".join(themes), "min_score": "0.7", "n": "100"})
    feed = feedparser.parse(answer.content)
    want = [r["id"] for r in stream.records
            if any(stream.scores[r["id"]][t] >= 0.7 for t in themes)][::-1]
    assert answer.status_code == 200 and feed_ids(feed) == want and want


def test_conditional_get_answers_304(stream):
    url = stream.url(f"/v1/themes/{THEME}/feed.atom")
    first = requests.get(url, timeout=60)
    same = requests.get(url, timeout=60, headers={"If-None-Match": first.headers["ETag"]})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["ETag"] == first.headers["ETag"]
    since = requests.get(url, timeout=60,
                         headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    other = requests.get(url + "?n=3", timeout=60,
                         headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200  # other parameters, other ETag


def test_unknown_theme_and_bad_parameters_are_json_errors(stream):
    missing = requests.get(stream.url("/v1/themes/no-such-theme/feed.atom"), timeout=60)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert requests.get(stream.url("/themes/no-such-theme"), timeout=60).status_code == 404
    for query in ("n=0", "n=101", "n=two", "min_score=1.5", "min_score=-0.1",
                  "min_score=nan", "themes=nope", "themes="):
        answer = requests.get(stream.url("/v1/feed.atom?" + query), timeout=60)
        assert answer.status_code == 422, query
        assert answer.json()["error"]["code"] == "validation_error"


def test_reviewers_corrections_change_the_feed(stream):
    url = stream.url(f"/v1/themes/{THEME}/feed.atom?n=100")
    before = requests.get(url, timeout=60)
    newest = expected(stream, THEME, n=100)
    untagged = next(r for r in stream.records if stream.scores[r["id"]][THEME] < 0.1)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for paper, action in ((newest[0], "reject"), (untagged["id"], "add")):
        record = next(r for r in stream.records if r["id"] == paper)
        answer = requests.post(stream.url("/v1/feedback"), timeout=60, headers=auth, json={
            "id": paper, "title": record["title"], "abstract": record["abstract"],
            action: [THEME]})
        assert answer.status_code == 201, answer.text
    after = requests.get(url, timeout=60, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    feed = feedparser.parse(after.content)
    assert feed_ids(feed) == expected(stream, THEME, n=100, rejected={newest[0]},
                                      added={untagged["id"]})
    added = next(e for e in feed.entries if e.id.endswith(untagged["id"]))
    assert "added by a reviewer" in added.content[0].value
    undo = requests.post(stream.url("/v1/review/undo"), timeout=60, headers=auth)
    assert undo.status_code == 200  # undoing the add takes the paper out again
    again = feedparser.parse(requests.get(url, timeout=60).content)
    assert feed_ids(again) == expected(stream, THEME, n=100, rejected={newest[0]})
    listing = requests.get(stream.url("/themes"), timeout=60).text  # the counts agree
    row = re.search(rf'<tr data-theme="{THEME}">.*?<td class="num">(\d+)</td>', listing)
    assert row and int(row.group(1)) == len(expected(stream, THEME, n=1000)) - 1
    requests.post(stream.url("/v1/review/undo"), timeout=60, headers=auth)


def test_openapi_declares_the_feed_routes_exactly(stream):
    spec = requests.get(stream.url("/openapi.json"), timeout=60).json()
    themes = [t["id"] for t in requests.get(stream.url("/v1/themes"), timeout=60).json()["themes"]]
    one = spec["paths"]["/v1/themes/{theme}/feed.atom"]["get"]
    params = {p["name"]: p for p in one["parameters"]}
    assert params["theme"]["schema"]["enum"] == themes
    assert params["n"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100,
                                     "default": 30}
    assert params["min_score"]["schema"] == {"type": "number", "minimum": 0, "maximum": 1,
                                             "default": 0.5}
    assert set(one["responses"]) == {"200", "304", "404", "422", "503"}
    several = {p["name"]: p for p in spec["paths"]["/v1/feed.atom"]["get"]["parameters"]}
    assert several["themes"]["schema"]["items"]["enum"] == themes
    assert (several["themes"]["style"], several["themes"]["explode"]) == ("form", False)
    assert {"/themes", "/themes/{theme}"} <= set(spec["paths"])


def test_themes_pages_at_phone_width(stream, page, tmp_path):  # noqa: F811
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(stream.url("/themes"))
    row = page.locator(f'#themes tr[data-theme="{THEME}"]')
    tagged = sum(1 for r in stream.records if stream.scores[r["id"]][THEME] >= 0.5)
    cells = row.locator("td")
    assert int(cells.nth(1).inner_text()) == tagged  # all ingested this week
    assert int(cells.nth(2).inner_text()) == 0
    assert row.locator("a.feed").get_attribute("href") == f"/v1/themes/{THEME}/feed.atom"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    row.locator("td a").first.click()
    page.wait_for_selector("#papers li")
    shown = page.locator("#papers li")
    ids = [shown.nth(i).get_attribute("data-id") for i in range(shown.count())]
    assert ids == expected(stream, THEME, n=50)  # the corrections test undid its decisions
    assert page.locator('link[rel="alternate"][type="application/atom+xml"]').count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(screenshot_dir(tmp_path) / "themes-375.png"), full_page=False)


def test_digest_html_reads_on_a_phone(stream, small_model, page, tmp_path):  # noqa: F811
    out = tmp_path / "digest.html"
    done = subprocess.run([TAGGER, "digest", "--db", str(stream.db), "--model",
                           str(small_model), "--themes", "time-series,causal-discovery",
                           "--since", "1d", "--format", "html", "-o", str(out),
                           "--base-url", stream.base_url], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(out.as_uri())
    assert page.locator("h2").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    font = page.evaluate("getComputedStyle(document.querySelector('a.t')).fontSize")
    assert float(font.removesuffix("px")) >= 15  # readable without zooming
    feed = page.locator("main p.muted a").first.get_attribute("href")
    assert feed == stream.url(f"/v1/themes/{THEME}/feed.atom")
