"""The review page in headless Chromium (Debian's ``chromium`` driven by Playwright): sign in
with a reviewer token, accept, reject and add themes with the keyboard, undo, go to the next
paper; the decisions are in the label store afterwards. Screenshots go to
``$TAGGER_SCREENSHOTS_DIR`` when set (``docs/img`` holds the committed ones, made with
``TAGGER_SCREENSHOTS_DIR=docs/img .venv/bin/python -m pytest tests/api/test_review_page.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.api.conftest import serve_api
from tests.api.test_demo_page import browser, page  # noqa: F401 - shared browser fixtures
from tests.conftest import make_labelled_corpus

TOKEN = "ann-review-token-01"
N_QUEUED = 30


@pytest.fixture(scope="module")
def review_server(small_model, tmp_path_factory):
    from tagger.corpus import Document
    from tagger.store import open_store

    root = tmp_path_factory.mktemp("review")
    db = root / "labels.db"
    store = open_store(db)
    store.add_papers([Document(id=r["id"], title=r["title"], abstract=r["abstract"],
                               source="generated")
                      for r in make_labelled_corpus(n=N_QUEUED, seed=11)])
    store.close()
    env = {"TAGGER_REVIEW_TOKENS": f"ann={TOKEN}", "TAGGER_DB": str(db)}
    with serve_api(small_model, root, workers=1, env=env) as server:
        server.db = db
        yield server


def screenshot_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("TAGGER_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def items(tab) -> list[tuple[str, str]]:
    rows = tab.locator("#suggestions > li")
    return [(rows.nth(i).get_attribute("data-theme"), rows.nth(i).get_attribute("data-state"))
            for i in range(rows.count())]


def wait_state(tab, theme: str, state: str) -> None:
    tab.wait_for_selector(f'#suggestions li[data-theme="{theme}"][data-state="{state}"]')


def add_by_search(tab, label: str, theme: str) -> None:
    tab.keyboard.press("/")
    tab.keyboard.type(label)
    tab.wait_for_selector(f'#matches li[data-theme="{theme}"]')
    tab.keyboard.press("Enter")
    wait_state(tab, theme, "add")


def test_review_with_the_keyboard_then_undo(review_server, page, tmp_path):  # noqa: F811
    themes = {t["id"]: t["label"] for t in
              requests.get(review_server.url("/v1/themes"), timeout=30).json()["themes"]}
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(review_server.url("/review"))
    page.fill("#token", "not-the-token")
    page.click("#signin-button")
    page.wait_for_function("document.getElementById('signin-error').textContent.length > 0")
    assert "token" in page.inner_text("#signin-error").lower()

    page.fill("#token", TOKEN)
    page.click("#signin-button")
    page.wait_for_selector("#paper:not([hidden])")
    assert page.inner_text("#progress") == f"0 reviewed today, {N_QUEUED} in queue"
    paper_id = page.inner_text("#paper-meta").split()[1]

    # Themes the model did not suggest, added through the search box (labels and
    # descriptions are searched), so the list has at least two entries to work on.
    suggested = {theme for theme, _ in items(page)}
    missing = [t for t in themes if t not in suggested]
    add_by_search(page, themes[missing[0]], missing[0])
    add_by_search(page, themes[missing[1]], missing[1])
    listed = [theme for theme, _ in items(page)]
    first, second = listed[0], listed[1]
    page.keyboard.press("1")
    page.keyboard.press("a")
    wait_state(page, first, "accept")
    page.keyboard.press("2")
    page.keyboard.press("r")
    wait_state(page, second, "reject")
    add_by_search(page, themes[missing[2]], missing[2])
    page.wait_for_function("document.getElementById('progress').textContent.startsWith('1 ')")
    assert page.inner_text("#progress") == f"1 reviewed today, {N_QUEUED - 1} in queue"
    shots = screenshot_dir(tmp_path)
    page.screenshot(path=str(shots / "review.png"), full_page=True)

    page.keyboard.press("u")  # undo the last add
    page.wait_for_function(
        f"!document.querySelector('#suggestions li[data-theme=\"{missing[2]}\"]')")

    from tagger.store import open_store

    store = open_store(review_server.db)
    rows = [(d.reviewer, d.theme, d.action) for d in store.decisions(paper_id)]
    labels = store.current_labels(paper_id)
    store.close()
    assert rows == [("ann", missing[0], "add"), ("ann", missing[1], "add"),
                    ("ann", first, "accept"), ("ann", second, "reject"),
                    ("ann", missing[2], "add"), ("ann", missing[2], "undo")]
    expected = {missing[0], missing[1], first} - {second}
    assert labels == expected

    page.keyboard.press("n")
    page.wait_for_function(f"!document.getElementById('paper-meta').textContent"
                           f".includes('paper {paper_id} ')")
    assert page.inner_text("#error") == ""

    # The same page on a phone: nothing wider than the screen.
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(shots / "review-375.png"), full_page=False)


def test_the_review_page_is_404_without_reviewer_tokens(api, page):  # noqa: F811
    response = page.goto(api.url("/review"))
    assert response.status == 404
